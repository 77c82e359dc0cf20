"""The status board: the daemon's one writer of ``.ratchet/daemon.json``.

Every part of the daemon (the loop, the cycle supervisor, the self-hosting supervisor)
changes what ``ratchet status`` shows through one :class:`StatusBoard`, which stamps each
change and writes the whole :class:`~engine.daemon.status.DaemonStatus` atomically. A failed
write (a full disk) is not an error: the next change writes again.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.daemon.status import DaemonStatus, write_status


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StatusBoard:
    """Holds the current status; only the main thread calls it. No I/O in the constructor."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.status = DaemonStatus()

    def set(self, **changes: Any) -> None:
        """Change some fields (``DaemonStatus`` field names) and write."""
        self.put(dataclasses.replace(self.status, **changes))

    def put(self, status: DaemonStatus) -> None:
        """Replace the whole status (e.g. ``status.with_outcome(...)``) and write."""
        self.status = dataclasses.replace(status, updated=now_iso())
        with contextlib.suppress(OSError):
            write_status(self.path, self.status)

    def note(self, text: str, **changes: Any) -> None:
        """Add a timestamped note, with ``changes`` in the same write (a reader that sees
        the note also sees what it is about)."""
        noted = self.status.with_note(f"{now_iso()} {text}")
        self.put(dataclasses.replace(noted, **changes))

    def settle(self) -> None:
        """No cycle in flight any more: idle, or paused."""
        self.set(state="paused" if self.status.paused else "idle", cycle=None)

    def summary(self) -> str:
        """One line for systemd's ``STATUS=``."""
        s = self.status
        if s.paused:
            return "paused"
        if s.config_error:
            return "configuration error (see ratchet status)"
        return f"idle; next run {s.next_run or 'on request'}"
