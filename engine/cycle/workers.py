"""Concurrent cycles: up to ``directives.workers`` candidates at once, in one process.

``run-once --workers N`` (the daemon passes ``directives.workers``) holds the repository's
cycle lock like any run and then runs up to N goals' cycles at once, each in its own
thread, worktree and sandboxed evaluation. What stays one-at-a-time:

- the cycle lock: one ratchet process per repository (``engine.compose.cycle_lock``); the
  concurrency is inside it, so recovery after a dead run never meets a live attempt;
- branch numbers (:func:`engine.records.numbers.allocate_number`, a module lock);
- journal lines and the pending queue (:class:`Serialised` wraps both seams in one lock);
- moving the target: ``Repository.fast_forward`` is serialised in the process and is a
  compare-and-swap across processes, so a later merge finds the target moved, rebases and
  is measured and judged again (:func:`engine.cycle.merge.land`), exactly as when a human
  pushed meanwhile.

Which goals run: the active goals in the usual order, one worker each; a worker whose goal
has nothing to do takes the next goal, as the serial cycle does. When there are fewer goals
than workers, the remaining workers make further proposals for the goals whose provider
proposes variants (a model; ``ruff`` and ``scripted`` would propose the same change twice),
unless that goal has already turned out to have nothing to do.

Stopping: the first SIGTERM (or a worker's crash) sets a flag that every worker checks at
its next step (``on_step``): it raises :class:`Cancelled` there, so the attempt's worktree
and half-made branch are put away as in a serial run. A step already running (a test run)
finishes first; the daemon's SIGKILL after its grace is the backstop, and the next run's
recovery cleans up after it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from engine.cycle.protocols import Journal, PendingStore, Seams
from engine.model import CycleReport, Goal
from engine.model.journal import JournalEntry, PendingMerge

RunGoal = Callable[[Seams, Goal], list[CycleReport]]


class Cancelled(BaseException):
    """Raised in a worker at its next step once the run is stopping."""


@dataclass(frozen=True)
class Slot:
    goal: Goal
    further: bool = False  # a further proposal for a goal another worker has too


def plan_slots(goals: Sequence[Goal], workers: int, varied: Callable[[Goal], bool]) -> list[Slot]:
    """Every goal once, in order; then further proposals for the goals that vary, round
    robin, until there is a slot for every worker."""
    slots = [Slot(g) for g in goals]
    extra = [g for g in goals if varied(g)]
    while extra and len(slots) < workers:
        slots.append(Slot(extra[(len(slots) - len(goals)) % len(extra)], further=True))
    return slots


class Serialised:
    """The journal and pending-queue seams behind one lock (threads share them)."""

    def __init__(self, journal: Journal, pending: PendingStore) -> None:
        self._journal = journal
        self._pending = pending
        self._lock = threading.RLock()

    def append(self, report: CycleReport) -> None:
        with self._lock:
            self._journal.append(report)

    def read(self) -> Sequence[JournalEntry]:
        with self._lock:
            return self._journal.read()

    @property
    def pending(self) -> PendingStore:
        return _SerialisedPending(self._pending, self._lock)


@dataclass
class _SerialisedPending:
    inner: PendingStore
    lock: threading.RLock

    def read(self) -> Sequence[PendingMerge]:
        with self.lock:
            return self.inner.read()

    def write(self, entries: Sequence[PendingMerge]) -> None:
        with self.lock:
            self.inner.write(entries)

    def add(self, entry: PendingMerge) -> None:
        with self.lock:
            self.inner.add(entry)


def run_concurrently(
    s: Seams, slots: Sequence[Slot], workers: int, run_goal: RunGoal
) -> list[CycleReport]:
    """Run ``slots`` on up to ``workers`` threads; every report, each worker's in order,
    workers in the order they started. Re-raises the first failure (or the SIGTERM) after
    every worker has stopped."""
    stop = threading.Event()

    def on_step(goal: str, step: str) -> None:
        if stop.is_set():
            raise Cancelled(f"stopping: {goal} at {step}")
        s.on_step(goal, step)

    shared = Serialised(s.journal, s.pending)
    seams = replace(s, journal=shared, pending=shared.pending, on_step=on_step)
    queue = deque(slots)
    idle: set[str] = set()
    lock = threading.Lock()
    results: list[list[CycleReport]] = [[] for _ in range(min(workers, len(slots)))]
    failures: list[BaseException] = []

    def next_slot() -> Slot | None:
        with lock:
            while queue and not stop.is_set():
                slot = queue.popleft()
                if not (slot.further and slot.goal.id in idle):
                    return slot
            return None

    def work(index: int) -> None:
        try:
            while (slot := next_slot()) is not None:
                reports = run_goal(seams, slot.goal)
                results[index] += reports
                if reports and reports[-1].outcome != "nothing-to-do":
                    return
                with lock:
                    idle.add(slot.goal.id)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failures.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=work, args=(i,), name=f"ratchet-worker-{i}")
        for i in range(len(results))
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        stop.set()  # SIGTERM: every worker stops at its next step and cleans up
        for thread in threads:
            thread.join()
        raise
    real = [f for f in failures if not isinstance(f, Cancelled)]
    if real:
        raise real[0]
    return [report for reports in results for report in reports]


def headline(reports: Sequence[CycleReport]) -> CycleReport:
    """The report that stands for a concurrent run (``run-once --json``, exit code): the
    first that failed (error, budget), else the first merge, else the last."""
    for wanted in (("error", "budget"), ("merged",)):
        for report in reports:
            if report.outcome in wanted:
                return report
    return reports[-1]
