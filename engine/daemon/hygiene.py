"""Repository hygiene around cycles: reconcile what dead cycles left, end a cycle an earlier
daemon left running, and count open review branches. Results go to the status board and the
log; nothing here raises for what it finds."""

from __future__ import annotations

import logging

from engine.daemon.board import StatusBoard
from engine.daemon.child import is_cycle_of, kill_stale_group
from engine.daemon.logs import LOGGER, event
from engine.daemon.paths import StatePaths
from engine.daemon.reconcile import ReconcileReport, reconcile
from engine.daemon.status import CycleInfo
from engine.model import Identity
from engine.vcs import Repository
from engine.vcs.branches import open_review_branches, scan_branches

log = logging.getLogger(LOGGER)


def reconcile_and_report(
    repo: Repository,
    paths: StatePaths,
    board: StatusBoard,
    identity: Identity,
    *,
    fsck: bool,
    why: str,
) -> ReconcileReport:
    """Reconcile (see :func:`engine.daemon.reconcile.reconcile`); log it when something
    changed or went wrong (always at start), and note changes on the board."""
    report = reconcile(repo, paths, identity, fsck=fsck)
    board.set(human_branches=report.human)
    bad = bool(report.errors) or not report.fsck_ok
    if report.changed or bad or why == "start":
        event(
            log,
            report.summary(),
            logging.ERROR if bad else logging.INFO,
            why=why,
            archived=list(report.archived),
            worktrees=list(report.worktrees_removed),
            errors=list(report.errors),
            fsck=report.fsck_output or "clean",
        )
    if report.changed:
        board.note(f"{report.summary()} ({why})")
    return report


def end_orphan(cycle: CycleInfo, paths: StatePaths, *, grace: float) -> None:
    """A child of a daemon that died by ``kill -9`` may still be unwinding (PDEATHSIG sent
    it SIGTERM): give it its grace, then end it."""
    if cycle.pid and is_cycle_of(cycle.pid, paths.repo):
        event(log, "ending the cycle a previous daemon left running", pid=cycle.pid)
        kill_stale_group(cycle.pid, grace=grace)


def review_limit_reached(
    repo: Repository, board: StatusBoard, identity: Identity, limit: int
) -> str | None:
    """Why no cycle may start because too many review branches are open, if so (the board
    shows the review and human-owned branches either way)."""
    branches = scan_branches(repo, identity)
    review = open_review_branches(branches)
    human = tuple(b.name for b in branches if b.kind == "human")
    board.set(review_branches=review, human_branches=human)
    if review and len(review) >= limit:
        return f"{len(review)} review branches open (max_review_branches: {limit})"
    return None
