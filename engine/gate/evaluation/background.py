"""Work in a thread beside the caller's: in the caller's timing context, errors re-raised.

The evaluation runs a few things at once (the untraced suite beside the traced reaching
tests, the caller's checks beside the full stage). :class:`Background` starts one of them
in a thread that sees the caller's :mod:`contextvars` (so :func:`engine.gate.timing.step`
records its time) and hands back its result — or raises its exception — on :meth:`join`;
work nobody waits for first runs behind the rest (``nice``).
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


BEHIND = 10  # the niceness of work nobody waits for first (the static probes, the recording)


class Background(Generic[T]):
    """``fn()`` running in a thread from construction; :meth:`join` waits for it. With
    ``nice``, the thread runs that much nicer (Linux: niceness is per thread), and so do the
    processes it starts (a child inherits its parent thread's niceness): on a machine with
    fewer cores than runs, the runs a verdict waits on get the CPU first."""

    def __init__(self, fn: Callable[[], T], *, name: str, nice: int = 0) -> None:
        self._result: list[T] = []
        self._error: list[BaseException] = []
        context = contextvars.copy_context()

        def run() -> None:
            try:
                if nice:
                    lower_this_thread(nice)
                self._result.append(context.run(fn))
            except BaseException as exc:  # noqa: BLE001 - handed to the joining thread
                self._error.append(exc)

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def done(self) -> bool:
        """Has ``fn`` returned or raised (so :meth:`join` will not wait)?"""
        return not self._thread.is_alive()

    def join(self) -> T:
        """``fn``'s result; its exception, if it raised, is raised here."""
        self._thread.join()
        if self._error:
            raise self._error[0]
        return self._result[0]


def lower_this_thread(nice: int) -> None:
    """The calling thread's niceness raised by ``nice`` (and so that of every process it
    starts from now on); where the platform cannot, it stays."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except (AttributeError, OSError):
        pass
