"""What reaches the daemon's main thread: events posted by signal handlers, the scheduler's
and the watcher's threads, drained and coalesced into one :class:`Batch` at a time.

Events are past-tense facts. Posting is safe from any thread and from a signal handler
(``queue.SimpleQueue.put`` is reentrant), so no lock is ever held across work: only the main
thread acts on events, which is what keeps two cycles from ever overlapping.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class StopRequested:
    """SIGTERM or SIGINT arrived."""

    signal: str


@dataclass(frozen=True)
class ReloadRequested:
    """SIGHUP arrived: reload the configuration even if its bytes did not change."""


@dataclass(frozen=True)
class ConfigEdited:
    """goals.yaml, directives.yaml or rules/ changed on disk (debounced)."""


@dataclass(frozen=True)
class ControlEdited:
    """A ``ratchet pause|resume|pin|unpin`` request file changed (debounced)."""


@dataclass(frozen=True)
class CycleRequested:
    """Someone wants a cycle. ``scheduled`` fires are dropped while a cycle runs (as
    APScheduler's ``max_instances=1`` would); other requests wait for the next turn."""

    reason: str
    scheduled: bool = False


Event = StopRequested | ReloadRequested | ConfigEdited | ControlEdited | CycleRequested


@dataclass(frozen=True)
class Batch:
    """Everything that arrived since the last drain: the first stop wins, the flags are
    or-ed, cycle requests keep their order."""

    stop: str | None = None
    reload: bool = False
    config: bool = False
    control: bool = False
    requests: tuple[CycleRequested, ...] = ()


def coalesce(events: Iterable[Event]) -> Batch:
    stop: str | None = None
    reload = config = control = False
    requests: list[CycleRequested] = []
    for item in events:
        if isinstance(item, StopRequested):
            stop = stop or item.signal
        elif isinstance(item, ReloadRequested):
            reload = True
        elif isinstance(item, ConfigEdited):
            config = True
        elif isinstance(item, ControlEdited):
            control = True
        else:
            requests.append(item)
    return Batch(stop, reload, config, control, tuple(requests))


class Inbox:
    """A queue of :data:`Event` with one consumer (the main thread)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def post(self, item: Event) -> None:
        """Any thread, or a signal handler."""
        self._queue.put(item)

    def wait(self, timeout: float) -> Batch:
        """Block until something arrives (at most ``timeout`` seconds), then drain."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return Batch()
        return coalesce([first, *self._pending()])

    def drain(self) -> Batch:
        """What arrived so far, without blocking."""
        return coalesce(self._pending())

    def _pending(self) -> list[Event]:
        items: list[Event] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items
