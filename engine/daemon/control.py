"""Requests to a (possibly not running) daemon: pause, resume, pin, unpin, stop.

Pause and pin are files under ``.ratchet/control/`` rather than messages, so they also hold
while no daemon runs: a daemon started later starts paused, or pinned. The daemon watches the
directory and reacts within a second.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from engine.daemon.lock import is_running
from engine.daemon.paths import StatePaths
from engine.daemon.status import read_status


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def pause(paths: StatePaths) -> None:
    paths.control.mkdir(parents=True, exist_ok=True)
    paths.paused.write_text(f"paused {now_iso()}\n", encoding="utf-8")


def resume(paths: StatePaths) -> None:
    paths.paused.unlink(missing_ok=True)


def is_paused(paths: StatePaths) -> bool:
    return paths.paused.exists()


def pin(paths: StatePaths, sha: str) -> None:
    """Make cycles run from ``sha`` (a full commit id) until :func:`unpin`."""
    paths.control.mkdir(parents=True, exist_ok=True)
    paths.pin.write_text(sha + "\n", encoding="utf-8")


def unpin(paths: StatePaths) -> None:
    paths.pin.unlink(missing_ok=True)


def read_pin(paths: StatePaths) -> str | None:
    try:
        text = paths.pin.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


StopKind = Literal["stopped", "not-running", "timeout", "unknown-pid"]


@dataclass(frozen=True)
class StopResult:
    kind: StopKind
    pid: int = 0
    seconds: float = 0.0


def stop(paths: StatePaths, timeout: float = 120.0) -> StopResult:
    """SIGTERM the daemon holding the lock and wait until the lock is free.

    The pid comes from ``daemon.json``; it is trusted only while the lock is held (a daemon
    writes its status right after taking the lock).
    """

    def pid() -> int:
        status = read_status(paths.status)
        return status.pid if status is not None else 0

    return stop_lock_holder(paths.lock, pid, timeout)


def stop_lock_holder(lock: Path, read_pid: Callable[[], int], timeout: float) -> StopResult:
    """SIGTERM the process holding ``lock`` (its pid from ``read_pid()``, trusted only while
    the lock is held) and wait until the lock is free."""
    start = time.monotonic()
    if not is_running(lock):
        return StopResult("not-running")
    pid = 0
    while time.monotonic() - start < 5.0:
        candidate = read_pid()
        if candidate > 0 and _alive(candidate):
            pid = candidate
            break
        time.sleep(0.1)
    if pid == 0:
        return StopResult("unknown-pid")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    while time.monotonic() - start < timeout:
        if not is_running(lock):
            return StopResult("stopped", pid, time.monotonic() - start)
        time.sleep(0.1)
    return StopResult("timeout", pid, time.monotonic() - start)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
