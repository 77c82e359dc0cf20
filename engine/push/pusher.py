"""After a cycle: push ratchet's branches and notes to ``directives.push.remote``.

What is pushed (``directives.push.branches``):

- ``review`` — the candidates awaiting a human (``ratchet/<goal>/<n>`` kept for review or
  pending), at most ``max_review_branches`` of them (at least one): the newest. A branch
  ratchet pushed that is no longer wanted — decided (accepted, rejected), or beyond the cap
  (the oldest first) — is deleted on the remote and its draft PR closed with a comment; the
  candidate itself stays in ``ratchet review list``.
- ``merged`` — the target branch, fast-forward only (never forced).
- ``all`` — both, and the archive refs ``refs/ratchet/*`` (rejections), so a fresh clone
  that fetches them sees every decision.
- always — the notes ``refs/notes/ratchet`` (the full evidence), fast-forward only.

Never rewritten: a remote branch whose tip is not what ratchet last pushed there (recorded
in ``.ratchet/push.json``) belongs to a human — it is left alone, and every push of a
ratchet ref carries a ``--force-with-lease`` on the value ratchet saw, so a push racing a
human's is refused by the remote, not lost. Nothing here raises: the result (with its
errors) is returned for the caller to record; the cycle's outcome never depends on it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import GitError
from engine.model import Directives, Push
from engine.records.evidence import evidence_for, with_evidence
from engine.records.layout import push_state_file
from engine.vcs import ARCHIVE_REFS, BRANCH_REFS, Repository
from engine.vcs.refs import NOTES_REF
from engine.vcs.remote import has_remote, ls_remote, push

if TYPE_CHECKING:
    from engine.push.github import GhCli
    from engine.records.review import Candidate


@dataclass(frozen=True, kw_only=True)
class PushReport:
    remote: str
    at: str
    pushed: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    left_alone: tuple[str, ...] = ()  # remote branches a human pushed to
    prs: tuple[str, ...] = ()  # "opened ratchet/x/3: URL", "updated ...", "closed ..."
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        parts = [f"pushed {len(self.pushed)} ref(s) to {self.remote}"]
        if self.deleted:
            parts.append(f"deleted {', '.join(self.deleted)}")
        if self.left_alone:
            parts.append(f"left alone (a human pushed): {', '.join(self.left_alone)}")
        parts += self.prs
        if self.errors:
            parts.append("failed: " + "; ".join(self.errors))
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class _Plan:
    """What one push will do, collected before git runs."""

    remote: Mapping[str, str]  # the remote's refs now (ls-remote)
    pushed: Mapping[str, str]  # what ratchet last pushed there (push.json)
    updates: dict[str, str] = field(default_factory=dict)  # remote ref -> sha ("": delete)
    leases: dict[str, str] = field(default_factory=dict)
    wanted: dict[str, Candidate] = field(default_factory=dict)  # remote ref -> candidate
    close: dict[str, str] = field(default_factory=dict)  # branch -> why
    human: list[str] = field(default_factory=list)

    @property
    def refspecs(self) -> list[str]:
        return [f"{sha}:{ref}" for ref, sha in self.updates.items()]

    def claim(self, ref: str, sha: str, name: str) -> None:
        """Push ``sha`` to ``ref`` with a lease, unless it is there already or a human
        moved the ref since ratchet last pushed it (then ``name`` is left alone)."""
        there = self.remote.get(ref)
        if there == sha:
            return
        if there is None or self.pushed.get(ref) == there:
            self.updates[ref] = sha
            self.leases[ref] = there or ""
        else:
            self.human.append(name)


def load_state(state_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(push_state_file(state_dir).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_state(state_dir: Path, data: Mapping[str, Any]) -> None:
    path = push_state_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _review(plan: _Plan, cfg: Push, repo: Repository, target: str, cap: int) -> None:
    from engine.records.history import load_history
    from engine.records.review import awaiting_review

    history = [e.to_json() for e in load_history(repo)]
    found = [c for c in awaiting_review(repo, target, history) if c.local]
    found.sort(key=lambda c: (c.committed, c.id))
    keep = found[-cap:] if cfg.branches in ("review", "all") else []
    plan.wanted = {f"refs/heads/{c.branch}": c for c in keep}
    over = {f"refs/heads/{c.branch}" for c in found if c not in keep}
    for ref, c in plan.wanted.items():
        plan.claim(ref, c.commit, ref.removeprefix("refs/heads/"))
    for ref, there in plan.remote.items():
        if not ref.startswith(BRANCH_REFS) or ref in plan.wanted:
            continue
        branch = ref.removeprefix("refs/heads/")
        if plan.pushed.get(ref) == there:
            plan.updates[ref] = ""
            plan.leases[ref] = there
            plan.close[branch] = (
                f"more than max_review_branches ({cap}) review branches are open: the oldest "
                f"is closed here; it stays in `ratchet review list`"
                if ref in over
                else "decided (accepted, rejected or retired): closed by ratchet"
            )
        elif ref in plan.pushed:
            plan.human.append(branch)


def _others(plan: _Plan, cfg: Push, repo: Repository, target: str) -> None:
    if cfg.branches in ("merged", "all"):
        tip = repo.rev_parse(f"refs/heads/{target}")
        if tip and plan.remote.get(f"refs/heads/{target}") != tip:
            plan.updates[f"refs/heads/{target}"] = tip  # fast-forward only: no lease
    if cfg.branches == "all":
        for ref, sha in sorted(repo.list_refs(ARCHIVE_REFS).items()):
            plan.claim(ref, sha, ref)
    notes = repo.rev_parse(NOTES_REF)
    if notes and plan.remote.get(NOTES_REF) != notes:
        plan.updates[NOTES_REF] = notes  # fast-forward only: no lease


def _pull_requests(
    repo: Repository, gh: GhCli, plan: _Plan, pushed: set[str], target: str
) -> tuple[list[str], list[str]]:
    from engine.push.describe import describe

    done: list[str] = []
    errors: list[str] = []
    body_dir = repo.state_dir / "pr"
    for ref, c in plan.wanted.items():
        if ref not in pushed:
            continue
        record = with_evidence(c.snapshot, evidence_for(repo, c.commit))  # every rule's values
        title, body = describe(c.id, record, message=repo.commit_message(c.commit), commit=c.commit)
        body_dir.mkdir(parents=True, exist_ok=True)
        body_file = body_dir / f"{c.id.replace('/', '-')}.md"
        body_file.write_text(body, encoding="utf-8")
        existing = gh.open_pr(c.branch)
        if existing:
            result = gh.edit(existing[0], title, body_file)
            what = f"updated PR {existing[1] or existing[0]} ({c.branch})"
        else:
            result = gh.create(c.branch, target, title, body_file)
            what = f"opened draft PR {result.out.strip() or c.branch}"
        (done if result.ok else errors).append(what if result.ok else f"gh: {result.error}")
    return done, errors


def push_after_cycle(
    repo: Repository, directives: Directives, target: str, *, at: str, gh: GhCli | None = None
) -> PushReport | None:
    """Push as ``directives.push`` says (see the module docstring); None when not set."""
    cfg = directives.push
    if cfg is None:
        return None
    state = load_state(repo.state_dir)
    remotes: dict[str, Any] = state["remotes"] if isinstance(state.get("remotes"), dict) else {}
    pushed_before = dict(remotes.get(cfg.remote) or {})
    errors: list[str] = []
    try:
        if not has_remote(repo, cfg.remote):
            raise GitError(["remote"], 1, f"no remote {cfg.remote!r} (see `git remote -v`)")
        patterns = [f"{BRANCH_REFS}*", f"refs/heads/{target}", NOTES_REF, f"{ARCHIVE_REFS}*"]
        remote = ls_remote(repo, cfg.remote, patterns)
    except GitError as exc:
        report = PushReport(remote=cfg.remote, at=at, errors=(f"cannot reach: {exc}",))
        _save_state(repo.state_dir, {**state, "last": report.to_json()})
        return report
    plan = _Plan(remote=remote, pushed=dict(pushed_before))
    _review(plan, cfg, repo, target, max(1, directives.max_review_branches))
    _others(plan, cfg, repo, target)
    gh = gh if cfg.pull_requests == "auto" else None
    ready = gh is not None and gh.ready()
    prs: list[str] = []
    if ready and gh is not None:
        for branch, why in plan.close.items():
            if gh.open_pr(branch):
                closed = gh.close(branch, why)
                prs.append(f"closed PR of {branch}" if closed.ok else f"gh: {closed.error}")
    outcome = push(repo, cfg.remote, plan.refspecs, leases=plan.leases)
    done: set[str] = set()
    for r in outcome.refs:
        if not r.ok:
            errors.append(f"{r.ref}: {r.summary}")
            continue
        done.add(r.ref)
        if r.flag == "-":
            pushed_before.pop(r.ref, None)
        elif r.flag != "=":
            pushed_before[r.ref] = plan.updates.get(r.ref, "")
    for ref, c in plan.wanted.items():  # already there: still ours
        if remote.get(ref) == c.commit:
            pushed_before.setdefault(ref, c.commit)
    if outcome.error and not errors:
        errors.append(outcome.error.splitlines()[-1])
    if ready and gh is not None:
        opened, failed = _pull_requests(repo, gh, plan, done, target)
        prs += opened
        errors += failed
    report = PushReport(
        remote=cfg.remote,
        at=at,
        pushed=tuple(sorted(r for r in done if plan.updates.get(r) != "")),
        deleted=tuple(sorted(r for r in done if plan.updates.get(r) == "")),
        left_alone=tuple(plan.human),
        prs=tuple(prs),
        errors=tuple(errors),
    )
    _save_state(
        repo.state_dir,
        {**state, "remotes": {**remotes, cfg.remote: pushed_before}, "last": report.to_json()},
    )
    return report


def record_failure(state_dir: Path, report: PushReport, *, cycle_id: str, goal: str | None) -> None:
    """A journal line ``push-failed`` (``ratchet log``, ``status`` show it); the cycle's own
    entry and records are untouched."""
    from engine.records.layout import journal_file

    entry = {
        "cycle_id": f"{cycle_id}-push",
        "goal": goal,
        "outcome": "push-failed",
        "summary": f"push to {report.remote}",
        "message": report.summary(),
        "started": report.at,
        "finished": report.at,
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    with journal_file(state_dir).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
