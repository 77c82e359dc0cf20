"""In-package fakes of the cycle's seams, so tests pass behaviour in instead of patching
import paths: a :class:`FixedMeasurer` that returns given metrics without running
anything, an in-memory :class:`MemoryJournal` and :class:`MemoryPending`, a
:class:`FixedClock` and a :class:`StepLog`. Git stays real: these replace only the
sandbox, the clock and the ``.ratchet/`` files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.model import CycleReport, Goal, Metrics
from engine.model.journal import JournalEntry, PendingMerge
from engine.vcs import Repository


@dataclass
class FixedMeasurer:
    """Measures nothing: every baseline is ``baseline`` and every candidate ``candidate``
    (each stamped with the commit asked for). ``calls`` lists ``("baseline"|"candidate",
    commit)`` in order."""

    baseline_metrics: Metrics
    candidate_metrics: Metrics
    calls: list[tuple[str, str]] = field(default_factory=list)

    def baseline(self, repo: Repository, commit: str) -> Metrics:
        self.calls.append(("baseline", commit))
        return replace(self.baseline_metrics, commit=commit)

    def candidate(
        self,
        checkout: Path,
        repo: Repository,
        commit: str,
        *,
        base: str | None = None,
        goal: Goal | None = None,
        proposer: str | None = None,
    ) -> Metrics:
        self.calls.append(("candidate", commit))
        return replace(self.candidate_metrics, commit=commit)


@dataclass
class MemoryJournal:
    """The journal in a list; ``read`` parses each report the way the real journal does."""

    reports: list[CycleReport] = field(default_factory=list)

    def append(self, report: CycleReport) -> None:
        self.reports.append(report)

    def read(self) -> list[JournalEntry]:
        from engine.records.render import full_record

        return [JournalEntry.from_json(full_record(r)) for r in self.reports]


@dataclass
class MemoryPending:
    """The pending queue in a list."""

    entries: list[PendingMerge] = field(default_factory=list)

    def read(self) -> list[PendingMerge]:
        return list(self.entries)

    def write(self, entries: Sequence[PendingMerge]) -> None:
        self.entries = list(entries)

    def add(self, entry: PendingMerge) -> None:
        self.entries = [e for e in self.entries if e.branch != entry.branch] + [entry]


@dataclass
class FixedClock:
    """A clock that starts at ``start`` and moves ``step`` forward on every reading."""

    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    step: timedelta = timedelta(seconds=1)
    readings: int = 0

    def __call__(self) -> datetime:
        now = self.start + self.step * self.readings
        self.readings += 1
        return now


@dataclass
class StepLog:
    """Records ``(goal, step)`` progress reports."""

    steps: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, goal: str, step: str) -> None:
        self.steps.append((goal, step))
