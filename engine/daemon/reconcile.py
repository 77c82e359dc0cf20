"""Startup reconcile: put the repository back in order after a daemon or cycle was killed.

Run under the daemon lock and the cycle lock (so no cycle can be running): the canary's
scratch clones are removed, then :func:`engine.vcs.leftovers.clean_leftovers` does what every
``run-once`` also does first (stale worktrees removed, their partial work committed, half-made
``ratchet/<goal>/<n>`` branches archived under ``refs/ratchet/rejected/<goal>/<n>`` and
deleted, stale ref locks removed, ``git worktree prune``), and ``git fsck`` must come out
clean. Branches kept for review or a pending merge stay; branches a human committed to are
never touched.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, fields

from filelock import FileLock, Timeout

from engine.daemon.paths import StatePaths
from engine.model import Identity
from engine.vcs import Repository
from engine.vcs.leftovers import Leftovers, clean_leftovers
from engine.vcs.upkeep import fsck_report


@dataclass(frozen=True, kw_only=True)
class ReconcileReport(Leftovers):
    """What :func:`clean_leftovers` did, plus what only the daemon's reconcile adds."""

    skipped: str | None = None  # why nothing was done (a cycle holds the cycle lock)
    fsck_ok: bool = True
    fsck_output: str = ""

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
    shutil.rmtree(paths.canary, ignore_errors=True)  # scratch clones of an interrupted canary
    left = clean_leftovers(repo, identity)
    ok, output = fsck_report(repo) if fsck else (True, "")
    found = {f.name: getattr(left, f.name) for f in fields(Leftovers)}
    return ReconcileReport(**found, fsck_ok=ok, fsck_output=output)
