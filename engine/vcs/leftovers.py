"""What a dead cycle leaves behind, and putting it away: shared by every ``run-once`` (before
its cycle starts) and the daemon's startup reconcile (:mod:`engine.daemon.reconcile`).

Call :func:`clean_leftovers` only while holding the repository's cycle lock, so no cycle of
this repository can be running. It then:

1. commits the uncommitted partial work of each stale candidate worktree to its branch (only
   on a branch that is all the bot's), so archiving keeps it;
2. removes every worktree and stray directory under ``.ratchet/worktrees`` (candidates
   ``<goal>-<n>``, baselines ``baseline-<sha>-<pid>``) except a ``revert-*`` worktree younger
   than :data:`REVERT_GRACE` seconds (``ratchet revert`` runs without the cycle lock), then
   ``git worktree prune``;
3. removes lock files of ratchet's own refs left by a git killed mid-update, and the
   private index files of git-note writes killed midway;
4. archives each *half-made* ``ratchet/<goal>/<n>`` branch (see :mod:`engine.vcs.branches`)
   under ``refs/ratchet/rejected/<goal>/<n>`` and deletes it. A branch whose commits are all
   on the target already (a merge whose branch was not yet deleted) is only deleted. Branches
   kept for review or a pending merge, and branches a human committed to, are never touched.

Git faults are collected in ``errors``, never raised: a run must not fail because the last
one died.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import GitError
from engine.model import Identity
from engine.vcs.branches import BranchInfo, branch_only_commits, scan_branches
from engine.vcs.messages import format_message
from engine.vcs.notes import remove_stale_indexes
from engine.vcs.refs import BRANCH_PREFIX, branch_ref, rejected_ref
from engine.vcs.repository import Repository

if TYPE_CHECKING:
    from engine.vcs.results import WorktreeInfo

REVERT_GRACE = 3600.0  # seconds a `revert-*` worktree is presumed in use by `ratchet revert`
REF_LOCK_GRACE = 30.0  # seconds before a ref's .lock file counts as stale


@dataclass(frozen=True, kw_only=True)
class Leftovers:
    """What :func:`clean_leftovers` found and did."""

    worktrees_removed: tuple[str, ...] = ()
    partial_commits: tuple[str, ...] = ()  # worktrees whose uncommitted work was committed
    archived: tuple[str, ...] = ()  # "ratchet/g/3 -> refs/ratchet/rejected/g/3"
    deleted: tuple[str, ...] = ()
    human: tuple[str, ...] = ()
    locks_removed: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.worktrees_removed or self.archived or self.deleted or self.locks_removed)

    def summary(self) -> str:
        return (
            f"{len(self.worktrees_removed)} stale worktree(s) removed, "
            f"{len(self.archived)} half-made branch(es) archived, {len(self.deleted)} deleted"
        )


def clean_leftovers(repo: Repository, identity: Identity) -> Leftovers:
    """Put away what interrupted cycles left; see the module docstring (cycle lock held)."""
    errors: list[str] = []
    partial: list[str] = []
    listed = repo.linked_worktrees()  # committing partial work adds or removes none
    for worktree in _stale_candidate_worktrees(repo, listed):
        try:
            if _commit_partial_work(repo, worktree, identity):
                partial.append(str(worktree))
        except GitError as exc:
            errors.append(f"partial work in {worktree}: {exc}")
    removed: list[str] = []
    pruned = False
    try:
        removed = repo.prune_stale(in_use=_reverts_in_progress(repo), listed=listed)
        pruned = True
    except GitError as exc:
        errors.append(f"removing stale worktrees: {exc}")
    locks = remove_stale_ref_locks(repo)
    remove_stale_indexes(repo.state_dir)  # a note write killed midway
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
                if repo.delete_ref(branch_ref(branch.name), branch.tip):
                    deleted.append(branch.name)
            except GitError as exc:
                errors.append(f"{branch.name}: {exc}")
    try:
        if not pruned:  # archiving and deleting branches leave nothing more to prune
            repo.prune_worktrees()
    except GitError as exc:
        errors.append(f"git worktree prune: {exc}")
    return Leftovers(
        worktrees_removed=tuple(removed),
        partial_commits=tuple(partial),
        archived=tuple(archived),
        deleted=tuple(deleted),
        human=tuple(human),
        locks_removed=tuple(locks),
        errors=tuple(errors),
    )


def remove_stale_ref_locks(repo: Repository, older_than: float = REF_LOCK_GRACE) -> list[str]:
    """``*.lock`` files of ratchet's refs left by a git killed mid-update (only ratchet's
    namespaces, and only locks older than ``older_than`` seconds)."""
    common = repo.git_common_dir()
    removed = []
    now = time.time()
    for base in (common / "refs" / "heads" / "ratchet", common / "refs" / "ratchet"):
        if not base.is_dir():
            continue
        for lock in base.rglob("*.lock"):
            try:
                if now - lock.stat().st_mtime >= older_than:
                    lock.unlink()
                    removed.append(str(lock.relative_to(common)))
            except OSError:
                continue
    return removed


def _stale_candidate_worktrees(repo: Repository, listed: list[WorktreeInfo]) -> list[Path]:
    base = repo.worktrees_dir.resolve()
    return [
        w.path
        for w in listed
        if w.path.resolve().parent == base
        and w.path.is_dir()
        and w.branch is not None
        and w.branch.startswith(BRANCH_PREFIX)
    ]


def _reverts_in_progress(repo: Repository) -> list[Path]:
    base = repo.worktrees_dir
    if not base.is_dir():
        return []
    now = time.time()
    out = []
    for child in base.iterdir():
        try:
            young = now - child.lstat().st_mtime < REVERT_GRACE
        except OSError:
            continue
        if child.name.startswith("revert-") and young:
            out.append(child)
    return out


def _commit_partial_work(repo: Repository, worktree: Path, identity: Identity) -> bool:
    """Commit what a killed cycle left uncommitted in its worktree, so archiving keeps it.
    Only on a branch that is all the bot's; True when a commit was made."""
    # A git killed mid-`add` leaves the worktree's own index locked: ours, and stale.
    (repo.worktree_git_dir(worktree) / "index.lock").unlink(missing_ok=True)
    status = repo._run("status", "--porcelain=v1", "--untracked-files=normal", cwd=worktree)
    if not status.strip():
        return False
    head = repo.head_of(worktree)
    if head is None:
        return False
    if any(not repo.is_bot_commit(c, identity) for c in branch_only_commits(repo, head)):
        return False
    message = format_message(
        "ratchet: partial work of an interrupted cycle",
        "The cycle working on this branch was killed before it finished. Its uncommitted "
        "changes were committed when the next cycle (or daemon start) cleaned up, then "
        "archived.",
        {"Ratchet-Decision": "interrupted"},
    )
    repo.commit_all(worktree, message=message, author=identity)
    return True


def _archive(repo: Repository, branch: BranchInfo) -> str | None:
    """Keep a half-made branch's own commits under ``refs/ratchet/rejected/``; None if it has
    none (it never got past its creation, or its commits are on the target already)."""
    if not branch.commits:
        return None
    ref = rejected_ref(branch.goal, int(branch.number))
    existing = repo.list_refs(ref).get(ref)
    if existing is not None and existing != branch.tip:
        ref = f"{ref}-interrupted-{branch.tip[:12]}"
    return repo.archive(ref, branch.tip)
