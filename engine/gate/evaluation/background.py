"""Work in a thread beside the caller's: in the caller's timing context, errors re-raised.

The evaluation runs a few things at once (the untraced suite beside the traced reaching
tests, the caller's checks beside the full stage). :class:`Background` starts one of them
in a thread that sees the caller's :mod:`contextvars` (so :func:`engine.gate.timing.step`
records its time) and hands back its result — or raises its exception — on :meth:`join`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``fn()`` running in a thread from construction; :meth:`join` waits for it."""

    def __init__(self, fn: Callable[[], T], *, name: str) -> None:
        self._result: list[T] = []
        self._error: list[BaseException] = []
        context = contextvars.copy_context()

        def run() -> None:
            try:
                self._result.append(context.run(fn))
            except BaseException as exc:  # noqa: BLE001 - handed to the joining thread
                self._error.append(exc)

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def join(self) -> T:
        """``fn``'s result; its exception, if it raised, is raised here."""
        self._thread.join()
        if self._error:
            raise self._error[0]
        return self._result[0]
