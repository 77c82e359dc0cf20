"""The memory-bank lessons a human (or a reviewed cycle) wrote down for the provider."""

from __future__ import annotations

from pathlib import Path

LESSONS_FILE = "memory-bank/lessons.md"
MAX_LESSONS = 20


def read_lessons(root: Path) -> tuple[str, ...]:
    """The ``- `` bullet lines of ``memory-bank/lessons.md`` under ``root``, at most
    :data:`MAX_LESSONS`; () when the file is absent."""
    path = root / LESSONS_FILE
    if not path.is_file():
        return ()
    text = path.read_text(encoding="utf-8", errors="replace")
    return tuple(line[2:].strip() for line in text.splitlines() if line.startswith("- "))[
        :MAX_LESSONS
    ]
