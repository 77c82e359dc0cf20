"""The ``patch`` op: a unified diff of one file, applied the way models write them.

Small models get the hunk *content* right far more often than the header arithmetic, so
the header's line numbers and counts are only a hint: each hunk's old side (context and
``-`` lines) is looked up in the file, first where the header says, then anywhere; it
must match exactly one place (else the hunk is ambiguous), with trailing whitespace and a
blank context line written without its leading space forgiven. ``---``/``+++`` headers,
``diff --git``/``index`` lines and ``\\ No newline at end of file`` are skipped. A hunk
that adds without any context or removal is refused (where would it go?).

:func:`apply_patch` returns the new text or a :class:`PatchProblem` saying which hunk
failed and why, in words a model can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_SKIPPED = ("--- ", "+++ ", "diff --git", "index ", "\\ No newline")


@dataclass(frozen=True)
class Hunk:
    start: int  # 1-based old-side line the header names (0: unknown)
    old: tuple[str, ...]  # context and removed lines, in order
    new: tuple[str, ...]  # context and added lines, in order
    kept: tuple[int | None, ...]  # per new line: its index in old if context, else None

    def replacement(self, matched: list[str]) -> list[str]:
        """The new side, with context lines kept as the file has them (a loose match
        must not rewrite the whitespace of lines the hunk did not change)."""
        pairs = zip(self.new, self.kept, strict=True)
        return [line if at is None else matched[at] for line, at in pairs]


@dataclass(frozen=True)
class PatchProblem:
    reason: str
    kind: str = "search"  # "invalid": no hunks; "search": a hunk did not match once


def parse_hunks(diff: str) -> list[Hunk] | PatchProblem:
    """The hunks of ``diff`` (one file), or why it is not a unified diff."""
    hunks: list[Hunk] = []
    start: int | None = None
    old: list[str] = []
    new: list[str] = []
    kept: list[int | None] = []

    def close() -> None:
        if start is not None and (old or new):
            hunks.append(Hunk(start, tuple(old), tuple(new), tuple(kept)))

    for line in diff.splitlines():
        header = _HEADER.match(line)
        if header:
            close()
            start, old, new, kept = int(header.group(1)), [], [], []
            continue
        if line.startswith(_SKIPPED) or start is None:
            continue  # headers, and any prose before the first hunk
        tag, body = (line[:1], line[1:]) if line else (" ", "")
        if tag == "-":
            old.append(body)
        elif tag == "+":
            new.append(body)
            kept.append(None)
        else:  # context: " " or a context line whose leading space was lost
            body = body if tag == " " else line
            kept.append(len(old))
            old.append(body)
            new.append(body)
    close()
    if not hunks:
        return PatchProblem(
            "the patch has no hunks: write a unified diff of the file, each hunk starting "
            "with a header like '@@ -12,4 +12,3 @@' and lines starting with ' ', '-' or '+'",
            "invalid",
        )
    return hunks


def apply_patch(source: str, diff: str) -> str | PatchProblem:
    """``source`` with every hunk of ``diff`` applied in order."""
    hunks = parse_hunks(diff)
    if isinstance(hunks, PatchProblem):
        return hunks
    lines = source.splitlines()
    ends_with_newline = source.endswith("\n") or not source
    offset = 0  # how far earlier hunks moved the lines below them
    floor = 0  # hunks apply in order: never above the previous one
    for number, hunk in enumerate(hunks, 1):
        if not hunk.old:
            return PatchProblem(
                f"hunk {number} only adds lines: include at least one unchanged line of "
                "context (a ' ' line) so it can be placed"
            )
        at = _locate(lines, hunk, hint=hunk.start - 1 + offset, floor=floor)
        if isinstance(at, PatchProblem):
            return PatchProblem(f"hunk {number}: {at.reason}")
        lines[at : at + len(hunk.old)] = hunk.replacement(lines[at : at + len(hunk.old)])
        offset += len(hunk.new) - len(hunk.old)
        floor = at + len(hunk.new)
    text = "\n".join(lines)
    return text + "\n" if ends_with_newline and lines else text


def _locate(lines: list[str], hunk: Hunk, *, hint: int, floor: int) -> int | PatchProblem:
    """Where the hunk's old side starts: exactly at ``hint``, else its one match below
    ``floor`` (exact first, then ignoring trailing whitespace)."""
    size = len(hunk.old)
    for same in (_exact, _loose):
        if floor <= hint <= len(lines) - size and same(lines[hint : hint + size], hunk.old):
            return hint
        found = [
            i for i in range(floor, len(lines) - size + 1) if same(lines[i : i + size], hunk.old)
        ]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            where = ", ".join(str(i + 1) for i in found[:5])
            return PatchProblem(
                f"its unchanged and removed lines occur {len(found)} times (at lines {where}); "
                "add more context lines to make it unique"
            )
    first = next((line for line in hunk.old if line.strip()), hunk.old[0])
    return PatchProblem(
        f"its unchanged and removed lines are not in the file (the first is {first!r}); "
        "copy them exactly from the file as shown"
    )


def _exact(have: list[str], want: tuple[str, ...]) -> bool:
    return list(want) == have


def _loose(have: list[str], want: tuple[str, ...]) -> bool:
    return [w.rstrip() for w in want] == [h.rstrip() for h in have]
