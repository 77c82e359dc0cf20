"""The self-hosting supervisor: when the repository is ratchet itself, cycles run from a
pinned known-good revision, a merge that changes ratchet's own code is canaried and then
promoted or reverted, and a known-good that keeps failing is rolled back.

The mechanisms live in :mod:`engine.daemon.selfhost` (the record, tags and runtime
checkouts), :mod:`engine.daemon.canary` and :mod:`engine.daemon.selfupdate`; this module
decides when to use them and reports each result on the status board and in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from engine.daemon.board import StatusBoard, now_iso
from engine.daemon.cycles import CycleOutcome
from engine.daemon.logs import LOGGER, event
from engine.daemon.paths import StatePaths
from engine.daemon.selfhost import SelfHost, is_self_hosting
from engine.daemon.status import CycleInfo
from engine.daemon.supervisor import Runtime
from engine.model import Identity
from engine.vcs import Repository
from engine.vcs.refs import branch_ref

log = logging.getLogger(LOGGER)


@dataclass(frozen=True, kw_only=True)
class UpdateCheck:
    """What the canary of a self-change needs from the configuration in force."""

    target: str
    identity: Identity
    cycle_timeout: float


class SelfHostingSupervisor:
    """Main thread only. Build one with :meth:`start` (None for any other repository)."""

    def __init__(
        self, selfhost: SelfHost, paths: StatePaths, board: StatusBoard, *, rollback_after: int
    ) -> None:
        self.selfhost = selfhost
        self.paths = paths
        self.board = board
        self.rollback_after = rollback_after

    @classmethod
    def start(
        cls,
        repo: Repository,
        paths: StatePaths,
        board: StatusBoard,
        *,
        target: str | None,
        rollback_after: int,
    ) -> SelfHostingSupervisor | None:
        """Set known-good on a first start (the target's tip) and show it; None when the
        repository is not ratchet."""
        if not is_self_hosting(paths.repo):
            board.set(self_hosting=False)
            return None
        selfhost = SelfHost(repo, paths)
        tip = repo.rev_parse(branch_ref(target)) if target else None
        good = selfhost.known_good()
        if good is None and tip is not None:
            good = selfhost.ensure_known_good(tip)
            board.note(f"self-hosting: known-good set to {good[:12]} (first start)")
        board.set(self_hosting=True, known_good=good, runtime=selfhost.runtime_revision())
        event(
            log,
            "self-hosting: cycles run from a pinned revision",
            known_good=good,
            pinned=selfhost.pinned(),
        )
        return cls(selfhost, paths, board, rollback_after=rollback_after)

    def runtime(self) -> Runtime:
        """The checkout the next cycle runs from (the pin, else known-good)."""
        sha = self.selfhost.runtime_revision()
        return Runtime(self.selfhost.runtime(sha), sha) if sha is not None else Runtime()

    def after_cycle(self, outcome: CycleOutcome) -> None:
        """Count a finished cycle against its revision; roll back when due."""
        from engine.daemon.selfupdate import rollback_if_due

        text = rollback_if_due(self.selfhost, outcome, threshold=self.rollback_after)
        if text is not None:
            event(log, text, logging.ERROR)
            self._note_revisions(text)

    def check_update(
        self, repo: Repository, check: UpdateCheck, should_stop: Callable[[], str | None]
    ) -> None:
        """A merge changed ratchet's own code: canary it, then promote or revert."""
        from engine.daemon.selfupdate import promote_or_revert

        canary = CycleInfo(reason="canary", started=now_iso(), step="canary")
        self.board.set(state="running", cycle=canary)
        try:
            result = promote_or_revert(
                repo,
                self.paths,
                self.selfhost,
                target=check.target,
                identity=check.identity,
                cycle_timeout=check.cycle_timeout,
                should_stop=should_stop,
            )
        finally:
            self.board.settle()
        if result is None:
            return
        event(
            log, result.text, logging.INFO if result.promoted else logging.ERROR, steps=result.steps
        )
        self._note_revisions(result.text)

    def _note_revisions(self, text: str) -> None:
        """The note and the revisions it is about, in one status write."""
        self.board.note(
            text, known_good=self.selfhost.known_good(), runtime=self.selfhost.runtime_revision()
        )
