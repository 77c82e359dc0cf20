"""A failed attempt as a document to remember: what was tried, where, and why it failed.

:func:`failure_doc` reads one recorded attempt (a journal line or a snapshot found in
git, see :mod:`engine.model.journal`) and keeps only what both carry — the goal, the
summary, the files and line counts of the change, the failed rules' ids and the cause
(:func:`engine.records.cause.cause`) — so the document, and therefore its embedding, is
the same whether it was read from the local journal or rebuilt from git in a fresh clone.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.model.journal import JournalEntry
from engine.records.cause import cause, failed_rules

FAILED_OUTCOMES = frozenset({"rejected"})
"""The outcomes remembered: a judged (or refused) change that did not land."""


@dataclass(frozen=True, kw_only=True)
class FailureDoc:
    cycle_id: str
    goal: str
    started: str
    summary: str
    files: tuple[str, ...]
    lines: tuple[int, int]  # added, removed
    rules: tuple[str, ...]  # the failed rules' ids
    cause: str

    @property
    def outline(self) -> str:
        """The diff's outline: ``a.py, b.py (+3 -1)``."""
        if not self.files:
            return "no file changed"
        return f"{', '.join(self.files)} (+{self.lines[0]} -{self.lines[1]})"

    @property
    def text(self) -> str:
        """What is embedded."""
        return "\n".join(
            (
                f"goal: {self.goal}",
                f"change: {self.summary}",
                f"files: {self.outline}",
                f"failed rules: {', '.join(self.rules) or 'none'}",
                f"cause: {self.cause}",
            )
        )

    @property
    def line(self) -> str:
        """What a prompt shows: the attempt, where, and why it failed."""
        return (
            f"{self.summary} [goal {self.goal}; {self.outline}] — failed: "
            f"{self.cause or ', '.join(self.rules) or 'rejected'}"
        )


def failure_doc(entry: JournalEntry) -> FailureDoc | None:
    """The document of ``entry``, or None when it is not a failed attempt with a proposal."""
    if entry.outcome not in FAILED_OUTCOMES or not entry.summary or not entry.goal:
        return None
    data = entry.data
    change = data.get("change") or {}
    files = change.get("files") if isinstance(change, dict) else None
    return FailureDoc(
        cycle_id=entry.cycle_id,
        goal=entry.goal,
        started=entry.started,
        summary=" ".join(entry.summary.split()),
        files=tuple(str(f) for f in files or ()),
        lines=(_int(change.get("lines_added")), _int(change.get("lines_removed"))),
        rules=tuple(str(r.get("id", "")) for r in failed_rules(data)),
        cause=cause(data),
    )


def failure_docs(entries: Iterable[JournalEntry]) -> list[FailureDoc]:
    """The failed attempts among ``entries``, one per cycle id (the last read wins)."""
    docs: dict[str, FailureDoc] = {}
    for entry in entries:
        doc = failure_doc(entry)
        if doc is not None:
            docs[doc.cycle_id] = doc
    return list(docs.values())


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
