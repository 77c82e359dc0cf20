"""One daemon per repository, decided by an OS lock rather than a pid file.

The lock is an ``flock`` on ``.ratchet/daemon.lock`` (through ``filelock``): the kernel drops it
when the holder dies, even by ``kill -9``, so a crash never leaves a stale "running" marker.
``filelock`` is imported only to take the lock: :func:`is_running` (every ``ratchet status``)
probes the same ``flock`` with :mod:`fcntl` first, which spares ~30 ms of imports.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.exits import EXIT_LOCKED
from engine.errors import DaemonError

if TYPE_CHECKING:
    from filelock import FileLock


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
        from filelock import FileLock, Timeout

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
    held = _flock_held(path)
    if held is not None:
        return held
    from filelock import FileLock, Timeout

    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


def _flock_held(path: Path) -> bool | None:
    """Whether another open file holds an ``flock`` on ``path``: tried without waiting and
    released at once. None when this probe cannot tell (the file cannot be opened, or its
    filesystem has no ``flock``, where filelock falls back to a soft lock): ask filelock."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        return True if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _refused(path: Path) -> AlreadyRunning:
    return AlreadyRunning(
        f"a ratchet daemon is already running for {path.parent.parent} "
        f"(it holds {path}); see `ratchet status`, or `ratchet stop` it first"
    )
