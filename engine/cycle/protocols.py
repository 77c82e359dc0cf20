"""Every seam the cycle talks through, as small protocols, and the bundle that carries them.

The cycle never chooses a concrete adapter (``engine.compose`` does): measurement goes
through :class:`Measurer` (the sandbox), records through :class:`RecordWriter`,
:class:`EvidenceWriter`, :class:`Journal` and :class:`PendingStore`, time through
:data:`Clock`, progress through :data:`StepReporter` (per-step durations: the ambient timer
of :mod:`engine.gate.timing`). In-package fakes for each are in :mod:`engine.cycle.fakes`.

The proposal seam is :class:`engine.providers.base.Provider` (see
:data:`engine.cycle.attempt.ProviderFactory`); it is not imported here because the merge
step imports this module, and everything the merge step imports must stay inside the gate
(``engine/gate/boundary.py``): providers, the patcher and the record writer are untrusted
producers whose output the gate re-reads from git.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from engine.config import Config
from engine.model import CycleReport, Goal, Metrics
from engine.model.journal import JournalEntry, PendingMerge
from engine.vcs import Repository

Clock = Callable[[], datetime]
"""The current time (UTC, timezone-aware)."""

StepReporter = Callable[[str, str], None]
"""``(goal id, step)``: progress for ``ratchet status`` and the CLI's progress line (best
effort, never raises). ``step`` is a step key as it starts (``baseline.tests``) or a running
step's progress (``tests 45%``: key, a space, how far)."""


class Measurer(Protocol):
    """What the cycle needs from evaluation (the sandboxed side). The metrics returned
    carry the measured commit in ``Metrics.commit``: the gate judges that commit, and the
    merge step lands only what differs from it in the cycle's records."""

    def baseline(self, repo: Repository, commit: str) -> Metrics: ...

    def candidate(
        self,
        checkout: Path,
        repo: Repository,
        commit: str,
        *,
        base: str | None = None,  # the commit it is judged against (default: its parent)
        goal: Goal | None = None,  # decides the behaviour check (Goal.behaviour)
        proposer: str | None = None,  # the provider whose plan it is (None: the goal's)
    ) -> Metrics: ...


class RecordWriter(Protocol):
    """Writes a report's records (snapshot, memory-bank entry, trailers) into the
    worktree and commits them; returns the new commit. Untrusted: the merge step checks
    that the commit it lands differs from the evaluated one only in the record paths."""

    def __call__(self, worktree: Path, report: CycleReport, rationale: str) -> str: ...


class EvidenceWriter(Protocol):
    """Attaches a finished report's full record to ``report.commit`` (a git note). Best
    effort: never raises; outside the decision (nothing the gate judges is in a note)."""

    def __call__(self, report: CycleReport) -> None: ...


def no_evidence(report: CycleReport) -> None:
    """The :class:`EvidenceWriter` that writes nothing."""


class Journal(Protocol):
    """The local, append-only account of every attempt."""

    def append(self, report: CycleReport) -> None: ...

    def read(self) -> Sequence[JournalEntry]: ...


class PendingStore(Protocol):
    """Accepted candidates whose merge waits for a clean checked-out target."""

    def read(self) -> Sequence[PendingMerge]: ...

    def write(self, entries: Sequence[PendingMerge]) -> None: ...

    def add(self, entry: PendingMerge) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Seams:
    """What every step of one cycle works with: the repository, its configuration and
    the adapters chosen by the composition root."""

    repo: Repository
    config: Config
    measurer: Measurer
    write_records: RecordWriter
    journal: Journal
    pending: PendingStore
    clock: Clock
    on_step: StepReporter
    write_evidence: EvidenceWriter = no_evidence

    def now(self) -> str:
        """The clock as recorded in reports (seconds, ISO 8601)."""
        return self.clock().isoformat(timespec="seconds")
