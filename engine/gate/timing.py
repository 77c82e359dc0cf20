"""Where an attempt's time goes: wall-clock seconds per named step.

The cycle makes one :class:`StepTimer` per attempt current with :func:`recording`; any code
on the way — the cycle's steps, the measurer, the evaluator's probes — wraps its work in
:func:`step`, which is a no-op when no timer is current (a measurement outside a cycle, a
test). So a new stage or probe reports its time with one ``with step("name"):`` line and
no new parameter.

Keys: a step started inside another is recorded as ``outer.inner`` (``baseline.tests``),
so the keys without a dot do not nest; they sum to about the attempt's wall time except
where steps run in threads at once (the evaluation's), which overlap; a step that runs
twice (a rebase measures again) accumulates. Values are seconds, never negative,
rounded to milliseconds by :meth:`StepTimer.totals`.

Threads: the current timer and the nesting prefix are context variables. A worker thread
reports only if it runs in a copy of the submitting context
(``contextvars.copy_context().run``); the timer itself is thread-safe.

Part of the gate (the evaluator imports it), but nothing here reaches a decision: timings
are recorded, never judged.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar

StepListener = Callable[[str], None]
"""Told the key of every step as it starts (progress display); must not raise."""

ProgressListener = Callable[[str, str], None]
"""Told ``(step key, "45%")`` when a running step's output shows how far it is."""

# pytest's progress column ("....   [ 45%]"), at the end of a line of its output
_PERCENT = re.compile(rb"\[\s*(\d{1,3})%\]\s*$", re.MULTILINE)


class StepTimer:
    """Accumulates seconds per step key. No I/O; ``clock`` is a monotonic seconds source."""

    def __init__(
        self,
        *,
        on_start: StepListener | None = None,
        on_progress: ProgressListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_start = on_start
        self._on_progress = on_progress
        self._shown = ""
        self._clock = clock
        self._totals: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the ``with`` body as ``name`` (prefixed by the enclosing step's key)."""
        parent = _PREFIX.get()
        key = f"{parent}.{name}" if parent else name
        if self._on_start is not None:
            with suppress(Exception):  # progress is best effort, never fails a step
                self._on_start(key)
        token = _PREFIX.set(key)
        self._shown = ""
        self.add(key, 0.0)  # keys keep the order in which their steps started
        start = self._clock()
        try:
            yield
        finally:
            _PREFIX.reset(token)
            self.add(key, self._clock() - start)

    def observe(self, data: bytes) -> None:
        """Look for a progress mark in a chunk of a running step's output; a new one is
        passed to ``on_progress``."""
        if self._on_progress is None:
            return
        marks = _PERCENT.findall(data)
        if not marks:
            return
        key = _PREFIX.get()
        shown = f"{int(marks[-1])}%"
        if shown == self._shown:
            return
        self._shown = shown
        with suppress(Exception):
            self._on_progress(key, shown)

    def add(self, key: str, seconds: float) -> None:
        """Add ``seconds`` (negative counts as 0) to ``key``."""
        with self._lock:
            self._totals[key] = self._totals.get(key, 0.0) + max(0.0, float(seconds))

    def totals(self) -> dict[str, float]:
        """Step key -> seconds (3 decimals), in the order the steps first ran."""
        with self._lock:
            return {k: round(v, 3) for k, v in self._totals.items()}


_CURRENT: ContextVar[StepTimer | None] = ContextVar("ratchet_step_timer", default=None)
_PREFIX: ContextVar[str] = ContextVar("ratchet_step_prefix", default="")


@contextmanager
def recording(timer: StepTimer) -> Iterator[StepTimer]:
    """Make ``timer`` the current one for the ``with`` body (steps start unprefixed)."""
    token = _CURRENT.set(timer)
    prefix = _PREFIX.set("")
    try:
        yield timer
    finally:
        _PREFIX.reset(prefix)
        _CURRENT.reset(token)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Time the ``with`` body as ``name`` on the current timer; nothing when there is none."""
    timer = _CURRENT.get()
    if timer is None:
        yield
        return
    with timer.step(name):
        yield


def observe_output(data: bytes) -> None:
    """A chunk of output of the process the current step runs (see :meth:`StepTimer.
    observe`); nothing without a current timer."""
    timer = _CURRENT.get()
    if timer is not None:
        timer.observe(data)


def current_totals() -> dict[str, float]:
    """The current timer's totals so far ({} outside :func:`recording`)."""
    timer = _CURRENT.get()
    return timer.totals() if timer is not None else {}
