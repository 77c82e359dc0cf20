"""One daemon per repository, decided by an OS lock rather than a pid file.

The lock is an ``flock`` on ``.ratchet/daemon.lock`` (through ``filelock``): the kernel drops it
when the holder dies, even by ``kill -9``, so a crash never leaves a stale "running" marker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from engine.cli.exits import EXIT_LOCKED
from engine.errors import DaemonError


class AlreadyRunning(DaemonError):
    """Another daemon holds this repository's lock."""

    exit_code = EXIT_LOCKED  # `ratchet start` exits with it


class DaemonLock:
    """The daemon's lock. ``acquire`` never waits: the lock is free or another daemon runs."""

    def __init__(self, path: Path, refusal: Callable[[Path], AlreadyRunning] | None = None) -> None:
        self.path = path
        self._refusal = refusal or _refused
        self._lock: FileLock | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`AlreadyRunning` (``refusal(path)``: another
        holder's own error, e.g. the fleet daemon's)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path), timeout=0)
        try:
            lock.acquire()
        except Timeout as exc:
            raise self._refusal(self.path) from exc
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def held(self) -> bool:
        return self._lock is not None and self._lock.is_locked


def is_running(path: Path) -> bool:
    """True when some process holds the lock at ``path`` (tries it with timeout 0)."""
    if not path.exists():
        return False
    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


def _refused(path: Path) -> AlreadyRunning:
    return AlreadyRunning(
        f"a ratchet daemon is already running for {path.parent.parent} "
        f"(it holds {path}); see `ratchet status`, or `ratchet stop` it first"
    )
