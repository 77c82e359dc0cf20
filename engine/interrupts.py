"""Sections an interrupt may not split: a SIGTERM that arrives inside one is raised at its end.

The CLI's SIGTERM handler (:mod:`engine.cli.signals`) raises an exception wherever the main
thread is, so that every ``finally`` cleans up. A few places must not be split that way: a
``subprocess.Popen`` interrupted between its fork and its return has started a process nobody
holds (a ``git worktree add`` that goes on creating a worktree and a branch while the cleanup
looks for them). Such code runs inside :func:`held`; the handler asks :func:`defer` whether
to keep its exception for later, and the outermost ``held`` block raises it as it ends.

Python runs signal handlers in the main thread only, so the state is the main thread's:
a ``held`` block in another thread defers nothing (no exception can arrive there).
This module imports the standard library only (the CLI installs its handler before anything
heavy is imported).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["defer", "held"]


class _State(threading.local):
    depth = 0
    pending: BaseException | None = None


_STATE = _State()


@contextmanager
def held() -> Iterator[None]:
    """Run the block whole: an interrupt deferred during it (:func:`defer`) is raised when the
    outermost ``held`` block ends, after the block's own exception if it had one (chained)."""
    _STATE.depth += 1
    try:
        yield
    finally:
        _STATE.depth -= 1
        if _STATE.depth == 0 and _STATE.pending is not None:
            pending, _STATE.pending = _STATE.pending, None
            raise pending


def defer(exc: BaseException) -> bool:
    """Called by a signal handler: True when ``exc`` is kept for the end of the current
    :func:`held` block (the handler then returns), False when none is running (raise it)."""
    if _STATE.depth == 0:
        return False
    if _STATE.pending is None:
        _STATE.pending = exc
    return True
