"""``ratchet revert``: undo one of ratchet's merged changes, with trailers and a record.

Only ratchet's own commits (``Ratchet-Goal`` trailer, or made by the bot identity) are
reverted unless ``force``. The revert commit carries ``Ratchet-Reverts: <sha>``,
``Ratchet-Goal`` and ``Ratchet-Decision: reverted``; the reverted change's records stay in
the tree and the revert adds its own, ``memory-bank/cycles/<cycle>-revert.md``. Later
cycles read the revert as a human decision (:mod:`engine.records.decisions`): the same
change is never proposed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import InputError
from engine.gate.paths import MEMORY_DIR
from engine.model import Identity
from engine.records.decisions import REVERTS_TRAILER
from engine.records.render import memory_path, snapshot_path
from engine.vcs import Repository, RevertResult, format_message, parse_trailers


@dataclass(frozen=True, kw_only=True)
class RevertPlan:
    """What will be reverted: the full sha, its goal and cycle (empty when not ratchet's)."""

    commit: str
    subject: str
    goal: str
    cycle: str
    ours: bool


def plan_revert(repo: Repository, commit: str, identity: Identity) -> RevertPlan:
    """Resolve ``commit`` and say whether it is ratchet's; InputError when it is no commit."""
    sha = repo.rev_parse(commit) if not commit.startswith("-") else None
    if sha is None:
        raise InputError(f"{commit!r} is not a commit in {repo.root}")
    message = repo.commit_message(sha)
    trailers = parse_trailers(message)
    goal = trailers.get("Ratchet-Goal", "")
    return RevertPlan(
        commit=sha,
        subject=message.partition("\n")[0],
        goal=goal,
        cycle=trailers.get("Ratchet-Cycle", ""),
        ours=bool(goal) or repo.is_bot_commit(sha, identity),
    )


def revert_change(
    repo: Repository, plan: RevertPlan, target: str, identity: Identity, *, at: str
) -> RevertResult:
    """Make the revert commit on ``target`` (see the module docstring)."""
    from engine.patching.workspace import write_files

    trailers = {REVERTS_TRAILER: plan.commit, "Ratchet-Decision": "reverted"}
    if plan.goal:
        trailers["Ratchet-Goal"] = plan.goal
    message = format_message(
        f'Revert "{plan.subject}"',
        f"This reverts commit {plan.commit}.\n\nratchet: reverted by a human with `ratchet revert`",
        trailers,
    )
    keep = (snapshot_path(plan.cycle), memory_path(plan.cycle)) if plan.cycle else ()
    name = plan.cycle or plan.commit[:12]
    record = (
        f"# {name}: reverted\n\n"
        f"- reverted: {plan.commit} ({plan.subject})\n"
        f"- goal: `{plan.goal or '-'}`\n"
        f"- when: {at}\n"
        "- by: a human, with `ratchet revert`; the change is never proposed again\n"
    )

    def prepare(worktree: Path) -> None:
        write_files(worktree, {f"{MEMORY_DIR}/{name}-revert.md": record})

    return repo.revert(
        plan.commit, target, author=identity, message=message, keep=keep, prepare=prepare
    )
