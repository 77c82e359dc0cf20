"""Startup reconcile: put the repository back in order after a daemon or cycle was killed.

Run under the daemon lock and the cycle lock (so no cycle can be running): stale candidate
worktrees are removed — uncommitted partial work in them is first committed to their branch
— half-made ``ratchet/<goal>/<n>`` branches are archived under
``refs/ratchet/rejected/<goal>/<n>`` and deleted, stale lock files of ratchet's refs are
removed, ``git worktree prune`` runs, and ``git fsck`` must come out clean. Branches kept for
review or a pending merge stay; branches a human committed to are never touched.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from engine.daemon.branches import BranchInfo, scan_branches
from engine.daemon.gitops import (
    absolute_git_dir,
    branch_only_commits,
    fsck_report,
    has_untracked,
    remove_stale_ref_locks,
    worktree_prune,
)
from engine.daemon.paths import StatePaths
from engine.errors import GitError
from engine.model import Identity
from engine.vcs import Repository, format_message, rejected_ref


@dataclass(frozen=True, kw_only=True)
class ReconcileReport:
    skipped: str | None = None  # why nothing was done (a cycle holds the cycle lock)
    worktrees_removed: tuple[str, ...] = ()
    partial_commits: tuple[str, ...] = ()  # branches that got their uncommitted work committed
    archived: tuple[str, ...] = ()  # "ratchet/g/3 -> refs/ratchet/rejected/g/3"
    deleted: tuple[str, ...] = ()
    human: tuple[str, ...] = ()
    locks_removed: tuple[str, ...] = ()
    fsck_ok: bool = True
    fsck_output: str = ""
    errors: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.worktrees_removed or self.archived or self.deleted or self.locks_removed)

    def summary(self) -> str:
        if self.skipped:
            return f"reconcile skipped: {self.skipped}"
        parts = [
            f"{len(self.worktrees_removed)} stale worktree(s) removed",
            f"{len(self.archived)} half-made branch(es) archived",
            f"{len(self.deleted)} deleted",
            f"{len(self.human)} human branch(es) left alone",
            "fsck clean" if self.fsck_ok else "FSCK FAILED",
        ]
        return "reconcile: " + ", ".join(parts)


def reconcile(
    repo: Repository, paths: StatePaths, identity: Identity, *, fsck: bool = True
) -> ReconcileReport:
    """Clean up after an interrupted cycle; see the module docstring. Never raises for git
    faults: they are listed in ``errors``."""
    lock = FileLock(str(paths.cycle_lock), timeout=0)
    paths.state.mkdir(parents=True, exist_ok=True)
    try:
        lock.acquire()
    except Timeout:
        return ReconcileReport(skipped="a cycle holds .ratchet/cycle.lock")
    try:
        return _reconcile(repo, paths, identity, fsck)
    finally:
        lock.release()


def _reconcile(
    repo: Repository, paths: StatePaths, identity: Identity, fsck: bool
) -> ReconcileReport:
    errors: list[str] = []
    partial: list[str] = []
    for worktree in _stale_worktrees(repo):
        try:
            if _commit_partial_work(repo, worktree, identity):
                partial.append(str(worktree))
        except GitError as exc:
            errors.append(f"partial work in {worktree}: {exc}")
    removed: list[str] = []
    try:
        removed = repo.prune_stale()
    except GitError as exc:
        errors.append(f"removing stale worktrees: {exc}")
    shutil.rmtree(paths.canary, ignore_errors=True)  # scratch clones of an interrupted canary
    locks = remove_stale_ref_locks(repo)
    archived: list[str] = []
    deleted: list[str] = []
    human: list[str] = []
    for branch in scan_branches(repo, identity):
        if branch.kind == "human":
            human.append(branch.name)
        elif branch.kind == "half-made":
            try:
                ref = _archive(repo, branch)
                if ref:
                    archived.append(f"{branch.name} -> {ref}")
                if repo.delete_ref(f"refs/heads/{branch.name}", branch.tip):
                    deleted.append(branch.name)
            except GitError as exc:
                errors.append(f"{branch.name}: {exc}")
    try:
        worktree_prune(repo)
    except GitError as exc:
        errors.append(f"git worktree prune: {exc}")
    ok, output = fsck_report(repo) if fsck else (True, "")
    return ReconcileReport(
        worktrees_removed=tuple(removed),
        partial_commits=tuple(partial),
        archived=tuple(archived),
        deleted=tuple(deleted),
        human=tuple(human),
        locks_removed=tuple(locks),
        fsck_ok=ok,
        fsck_output=output,
        errors=tuple(errors),
    )


def _stale_worktrees(repo: Repository) -> list[Path]:
    base = repo.worktrees_dir.resolve()
    return [
        w.path
        for w in repo.list_worktrees()
        if w.path.resolve().parent == base
        and w.path.is_dir()
        and w.branch is not None
        and w.branch.startswith("ratchet/")
    ]


def _commit_partial_work(repo: Repository, worktree: Path, identity: Identity) -> bool:
    """Commit what a killed cycle left uncommitted in its worktree, so archiving keeps it.
    Only on a branch that is all the bot's; True when a commit was made."""
    # A git killed mid-`add` leaves the worktree's own index locked: ours, and stale.
    (absolute_git_dir(worktree) / "index.lock").unlink(missing_ok=True)
    if repo.is_clean(worktree) and not has_untracked(worktree):
        return False
    head = repo.head_of(worktree)
    if head is None:
        return False
    if any(not repo.is_bot_commit(c, identity) for c in branch_only_commits(repo, head)):
        return False
    message = format_message(
        "ratchet: partial work of an interrupted cycle",
        "The cycle working on this branch was killed before it finished. Its uncommitted "
        "changes were committed by the reconcile at the next daemon start, then archived.",
        {"Ratchet-Decision": "interrupted"},
    )
    repo.commit_all(worktree, message=message, author=identity)
    return True


def _archive(repo: Repository, branch: BranchInfo) -> str | None:
    """Keep a half-made branch's commits under ``refs/ratchet/rejected/``; None if it has
    none (it never got past its creation)."""
    if not branch.commits:
        return None
    ref = rejected_ref(branch.goal, int(branch.number))
    existing = repo.list_refs(ref).get(ref)
    if existing is not None and existing != branch.tip:
        ref = f"{ref}-interrupted-{branch.tip[:12]}"
    return repo.archive(ref, branch.tip)
