"""Blank lines and comments around statements that the patcher adds, moves or removes.

LibCST keeps the blank lines and comments above a statement in its ``leading_lines``,
the ones at the end of a block in the block's ``footer`` and the ones above the first
statement of a file in ``Module.header``. These helpers keep that text where a reader
expects it and space new definitions the PEP 8 way (two blank lines at module level,
one inside a class).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from engine.patching.symbols import Container, Statement, is_definition

Lines = Sequence[cst.EmptyLine]


def blank(count: int) -> list[cst.EmptyLine]:
    """``count`` empty lines (no indentation, as LibCST parses them)."""
    return [cst.EmptyLine(indent=False) for _ in range(count)]


def has_comment(lines: Lines) -> bool:
    return any(line.comment is not None for line in lines)


def strip_blanks(
    lines: Lines, *, leading: bool = True, trailing: bool = True
) -> list[cst.EmptyLine]:
    """``lines`` without blank lines at the start and/or the end."""
    out = list(lines)
    while leading and out and out[0].comment is None:
        out.pop(0)
    while trailing and out and out[-1].comment is None:
        out.pop()
    return out


def spacing(prev: cst.CSTNode | None, new: cst.CSTNode, depth: int) -> int:
    """Blank lines wanted between ``prev`` and ``new`` (None: first in its block)."""
    if prev is None:
        return 0
    if is_definition(prev) or is_definition(new):
        return 2 if depth == 0 else 1
    return 0


def with_leading(stmt: Statement, lines: Lines) -> Statement:
    out = stmt.with_changes(leading_lines=list(lines))
    return out


def ensure_spacing(stmt: Statement, count: int) -> Statement:
    """Give ``stmt`` at least ``count`` blank lines above it if it has none."""
    lines = list(stmt.leading_lines)
    if count and (not lines or lines[0].comment is not None):
        return with_leading(stmt, blank(count) + lines)
    return stmt


def spill(
    body: list[Statement], pos: int, lines: Lines, footer: Lines
) -> tuple[list[Statement], list[cst.EmptyLine]]:
    """Keep orphaned comment ``lines``: above ``body[pos]``, or else in the block footer.

    Used when the statement that owned the comments is deleted, and for trailing
    comments of a code snippet. Blank-only ``lines`` are dropped.
    """
    kept = strip_blanks(lines, leading=False)
    if not has_comment(kept):
        return body, list(footer)
    if pos < len(body):
        body = list(body)
        body[pos] = with_leading(body[pos], kept + list(body[pos].leading_lines))
        return body, list(footer)
    return body, kept + list(footer)


def rebuild(
    module: cst.Module,
    container: Container,
    body: Sequence[Statement],
    footer: Lines | None = None,
) -> cst.Module:
    """``module`` with ``container``'s body (and footer) replaced."""
    changes: dict[str, object] = {"body": list(body)}
    if footer is not None:
        changes["footer"] = list(footer)
    if container is module:
        return module.with_changes(**changes)
    out = module.deep_replace(container, container.with_changes(**changes))
    assert isinstance(out, cst.Module)
    return out
