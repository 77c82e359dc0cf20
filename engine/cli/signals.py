"""SIGTERM for the CLI: a handler from the first statement, an orderly unwind during work.

Contract (exit codes: :mod:`engine.cli.exits` and the README's table):

- :func:`install_early` is the first statement of ``python -m engine.cli`` and of the
  console script, before the CLI imports anything heavy (this module imports the standard
  library, :mod:`engine.cli.exits` and :mod:`engine.interrupts` only). Until a command
  starts its work, SIGTERM exits at once with :data:`EXIT_TERMINATED` (``SystemExit``):
  nothing has been done, nothing needs undoing.
  Only the interpreter's own start-up (before any ratchet code runs) is left with the
  default action, and it has done nothing either.
- :func:`unwind_on_sigterm` is called by ``run-once`` before it takes the cycle lock: the
  first SIGTERM raises :class:`Terminated` wherever the run is, so every ``finally`` runs
  (the attempt's partial commit is archived under ``refs/ratchet/rejected/``, its branch and
  worktrees removed, the lock released) and the command exits with :data:`EXIT_TERMINATED`.
  Inside a section that may not be split (:func:`engine.interrupts.held`: every git call)
  it is raised when the section ends.
  Further SIGTERMs are ignored so that cleanup is not itself interrupted; a SIGKILL still
  works, and the next run cleans up after it.

``Terminated`` is a ``BaseException`` (like ``KeyboardInterrupt``): code that turns any
``Exception`` into a result — a guard failing closed, a retried call — never swallows it.
"""

from __future__ import annotations

import signal
from types import FrameType

from engine import interrupts
from engine.cli.exits import EXIT_TERMINATED

__all__ = ["EXIT_TERMINATED", "Terminated", "install_early", "unwind_on_sigterm"]


class Terminated(BaseException):
    """Raised from the SIGTERM handler so every ``finally`` cleans up."""


def install_early() -> None:
    """Before any work: SIGTERM exits with :data:`EXIT_TERMINATED` at once."""
    signal.signal(signal.SIGTERM, _exit_now)


def unwind_on_sigterm() -> None:
    """During work: the first SIGTERM raises :class:`Terminated`, later ones are ignored."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def _exit_now(signum: int, frame: FrameType | None) -> None:
    exc = SystemExit(EXIT_TERMINATED)
    if not interrupts.defer(exc):
        raise exc


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exc = Terminated(f"received signal {signum}")
    if not interrupts.defer(exc):  # inside a section that may not be split: raised at its end
        raise exc
