"""The pending queue (``.ratchet/pending.json``): accepted candidates whose merge waits for
a clean checked-out target.

Each entry names the branch, the commit to land, the target and the tip it was judged
against, and the ``evaluated`` commit: the candidate commit the gate measured, so the
merge step can verify that what it lands differs from it only in the cycle's records.
Entries of older versions have no ``evaluated`` commit; the cycle re-evaluates those.
Writes are atomic (a temporary file renamed over the queue).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from engine.model.journal import PendingMerge
from engine.records.layout import pending_file


def read_pending(state_dir: Path) -> list[PendingMerge]:
    """The queue in order; [] when absent or unreadable."""
    path = pending_file(state_dir)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return []
    if not isinstance(data, list):
        return []
    entries = (PendingMerge.from_json(d) for d in data if isinstance(d, dict))
    return [e for e in entries if e is not None]


def write_pending(state_dir: Path, entries: Sequence[PendingMerge]) -> None:
    """Replace the queue atomically."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = pending_file(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(e) for e in entries], indent=2), encoding="utf-8")
    tmp.replace(path)


def add_pending(state_dir: Path, entry: PendingMerge) -> None:
    """Queue ``entry``, replacing an older entry for the same branch."""
    entries = [e for e in read_pending(state_dir) if e.branch != entry.branch]
    write_pending(state_dir, [*entries, entry])


class PendingQueue:
    """The queue of one state directory, as the cycle's :class:`~engine.cycle.protocols.
    PendingStore` seam."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def read(self) -> list[PendingMerge]:
        return read_pending(self.state_dir)

    def write(self, entries: Sequence[PendingMerge]) -> None:
        write_pending(self.state_dir, entries)

    def add(self, entry: PendingMerge) -> None:
        add_pending(self.state_dir, entry)
