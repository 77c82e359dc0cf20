"""A running cycle's progress on stderr, part of the CLI's output layer.

- on a terminal: one live line, redrawn about five times a second —
  ``ratchet: [goal] tests 45%  12.3s`` (goal, step, the step's progress when its output
  shows it, the elapsed time) — and erased when the command is done, so the result is
  printed on a clean line;
- not a terminal (cron, CI, a pipe, the daemon's log): one plain line per step as it
  starts, ``ratchet: [goal] tests (+12.3s)``; progress updates are not printed;
- ``--quiet``: nothing.

:class:`CycleProgress` is the cycle's :data:`~engine.cycle.protocols.StepReporter`: it
receives ``(goal, step)`` where ``step`` is a step key (``baseline.tests``) or a running
step's progress (``tests 45%``). It never raises.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

REDRAW = 0.2  # seconds between redraws of the live line


class CycleProgress:
    """Shows progress on ``stream`` (see the module docstring). Use as a context manager
    (the live line's redraw thread runs inside it); no I/O in the constructor."""

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.live = live
        self._clock = clock
        self._start = clock()
        self._goal = ""
        self._step = ""
        self._done = ""
        self._width = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, goal: str, step: str) -> None:
        key, _, done = step.partition(" ")
        with self._lock:
            new_step = (goal, key) != (self._goal, self._step)
            self._goal, self._step, self._done = goal, key, done
        if self.live:
            self._draw()
        elif new_step and not done:
            self._write(f"ratchet: [{goal}] {key} (+{self._elapsed():.1f}s)\n")

    def __enter__(self) -> CycleProgress:
        self._start = self._clock()
        if self.live:
            self._thread = threading.Thread(target=self._redraw, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self.live:
            self._erase()

    def _elapsed(self) -> float:
        return max(0.0, self._clock() - self._start)

    def _redraw(self) -> None:
        while not self._stop.wait(REDRAW):
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            if not self._step:
                return
            done = f" {self._done}" if self._done else ""
            text = f"ratchet: [{self._goal}] {self._step}{done}  {self._elapsed():.1f}s"
            pad = " " * max(0, self._width - len(text))
            self._width = len(text)
        self._write(f"\r{text}{pad}")

    def _erase(self) -> None:
        with self._lock:
            width, self._width = self._width, 0
        if width:
            self._write("\r" + " " * width + "\r")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr never fails the cycle


class _Silent:
    """``--quiet``: a reporter and context manager that does nothing."""

    def __call__(self, goal: str, step: str) -> None:
        return None

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def cycle_progress(*, quiet: bool, stream: TextIO | None = None) -> CycleProgress | _Silent:
    """The progress display for a command: silent with ``quiet``, live when ``stream``
    (default stderr) is a terminal, plain step lines otherwise."""
    if quiet:
        return _Silent()
    out = stream or sys.stderr
    try:
        live = out.isatty()
    except (AttributeError, ValueError):
        live = False
    return CycleProgress(out, live=live)
