"""After a cycle on ratchet itself: promote a changed revision of its own code, or revert it.

Only the bot's own merges are reverted; a human's commit that breaks the canary is left in
place (its code is remembered as bad, so the daemon simply stays on the old revision) and
reported. Each revert is one commit on the target saying which canary step failed and how.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from engine.daemon.canary import CanaryResult, run_canary
from engine.daemon.cycles import CycleOutcome
from engine.daemon.paths import StatePaths
from engine.daemon.selfhost import SelfHost
from engine.errors import GitError, InputError
from engine.model import Identity
from engine.vcs import Repository, format_message
from engine.vcs.refs import branch_ref


@dataclass(frozen=True)
class SelfUpdateResult:
    sha: str
    promoted: bool
    text: str
    steps: tuple[str, ...] = ()
    reverts: tuple[str, ...] = ()


def promote_or_revert(
    repo: Repository,
    paths: StatePaths,
    selfhost: SelfHost,
    *,
    target: str,
    identity: Identity,
    cycle_timeout: float,
    should_stop: Callable[[], str | None] = lambda: None,
) -> SelfUpdateResult | None:
    """Canary the target tip when its code differs from known-good (and was not refused
    before); None when there was nothing to do or the canary was interrupted."""
    tip = repo.rev_parse(branch_ref(target))
    good = selfhost.known_good()
    if tip is None or good is None or not selfhost.needs_canary(tip):
        return None
    canary = run_canary(
        repo,
        paths,
        sha=tip,
        runtime=selfhost.runtime(tip),
        target=target,
        env=dict(os.environ),
        cycle_timeout=cycle_timeout,
        should_stop=should_stop,
    )
    steps = tuple(
        f"{s.name}: {'ok' if s.ok else 'FAILED'} {s.seconds}s {s.detail}".strip()
        for s in canary.steps
    )
    if canary.interrupted:
        return None
    if canary.ok and selfhost.promote(tip, canary.describe()):
        _prune(selfhost, {tip, good})
        return SelfUpdateResult(
            tip, True, f"promoted {tip[:12]} to known-good ({canary.describe()})", steps
        )
    reverts, problems = _revert_code_commits(repo, selfhost, good, tip, target, identity, canary)
    selfhost.refuse(tip, canary.describe(), reverts)
    _prune(selfhost, {good})
    text = (
        f"refused {tip[:12]}: {canary.describe()}; staying on known-good {good[:12]}; "
        f"reverted {len(reverts)} merge(s) on {target}"
    )
    if problems:
        text += "; " + "; ".join(problems)
    return SelfUpdateResult(tip, False, text, steps, tuple(reverts))


def rollback_if_due(selfhost: SelfHost, outcome: CycleOutcome, *, threshold: int) -> str | None:
    """Count a finished cycle (not one the daemon interrupted) against the revision it ran
    from; roll back when due. Returns what happened, for the log and status, or None."""
    if outcome.outcome in ("interrupted", "busy") or selfhost.pinned() is not None:
        return None
    reason = selfhost.record_cycle(
        failed=outcome.failed, crashed=outcome.crashed, threshold=threshold
    )
    if reason is None:
        return None
    old = selfhost.known_good()
    new = selfhost.rollback(reason)
    if new is None:
        return f"rollback due ({reason}) but no previous known-good to return to"
    return f"rolled back known-good {str(old)[:12]} -> {new[:12]}: {reason}"


def _revert_code_commits(
    repo: Repository,
    selfhost: SelfHost,
    good: str,
    tip: str,
    target: str,
    identity: Identity,
    canary: CanaryResult,
) -> tuple[list[str], list[str]]:
    reverts: list[str] = []
    problems: list[str] = []
    for commit in selfhost.code_commits(good, tip):  # newest first: each revert applies cleanly
        if not repo.is_bot_commit(commit, identity):
            problems.append(f"{commit[:12]} is a human's commit: not reverted")
            continue
        try:
            result = repo.revert(
                commit, target, author=identity, message=revert_message(repo, commit, good, canary)
            )
        except (GitError, InputError) as exc:
            problems.append(f"cannot revert {commit[:12]}: {exc}")
            continue
        if result.applied:
            reverts.append(result.commit)
        else:
            problems.append(
                f"revert of {commit[:12]} not applied ({result.ff.kind}: {result.ff.detail})"
            )
    return reverts, problems


def revert_message(repo: Repository, commit: str, good: str, canary: CanaryResult) -> str:
    subject = repo.commit_message(commit).partition("\n")[0].strip()
    failed = canary.failed_step
    step = failed.name if failed else "unknown"
    body = (
        f"ratchet's canary ran revision {canary.sha[:12]} of its own code (which contains "
        f"this change) against a scratch clone, and it failed at step {step!r}:\n\n"
        f"    {failed.detail if failed else canary.describe()}\n\n"
        f"The daemon keeps running its known-good revision {good[:12]}.\n\n"
        f"This reverts commit {commit}."
    )
    return format_message(
        f'Revert "{subject}": it broke ratchet\'s canary ({step})',
        body,
        {
            "Ratchet-Decision": "reverted",
            "Ratchet-Canary": f"failed at {step}",
            "Ratchet-Reverts": commit,
        },
    )


def _prune(selfhost: SelfHost, keep: set[str]) -> None:
    current = selfhost.runtime_revision()
    if current:
        keep = keep | {current}
    previous = selfhost.load().previous
    if previous:
        keep = keep | {previous[0]}
    with contextlib.suppress(GitError):  # a stale runtime checkout is harmless; retried later
        selfhost.prune_runtimes(keep)
