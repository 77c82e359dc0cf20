"""The local cycle journal (``.ratchet/journal.jsonl``): one JSON line per attempt.

Every attempt is appended, including outcomes that leave no commit (nothing-to-do,
refused, pending, error, budget). Reading parses each line once into a
:class:`~engine.model.journal.JournalEntry`; a torn last line after a crash (or any line
that is not a JSON object) is skipped and the rest kept. Each line is the attempt's full record
(:func:`engine.records.render.full_record`, the same JSON as its git note); journals of older
versions (whole snapshots) still load.
Each line passes the redactor before it is written (in :func:`~engine.records.render.
full_record`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from engine.model.journal import JournalEntry
from engine.records.layout import journal_file

if TYPE_CHECKING:
    from engine.model import CycleReport


def append(state_dir: Path, report: CycleReport) -> None:
    """Add one attempt's report as one line (creates the state directory if needed)."""
    # here, not at the top: reading the journal (`ratchet status`) needs no renderer and
    # no redaction patterns
    from engine.records.render import full_record

    state_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(full_record(report), sort_keys=True)  # redacted there
    with journal_file(state_dir).open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read_journal(state_dir: Path) -> list[JournalEntry]:
    """Every recorded attempt, oldest first; [] when there is no journal yet."""
    path = journal_file(state_dir)
    if not path.exists():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            continue  # a torn last line after a crash: skip it, keep the rest
        if isinstance(data, dict):
            out.append(JournalEntry.from_json(data))
    return out


class JournalFile:
    """The journal of one state directory, as the cycle's :class:`~engine.cycle.protocols.
    Journal` seam."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def append(self, report: CycleReport) -> None:
        append(self.state_dir, report)

    def read(self) -> list[JournalEntry]:
        return read_journal(self.state_dir)
