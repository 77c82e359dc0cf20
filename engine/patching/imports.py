"""The ``add_import`` op: add missing top-level imports, skip the ones already there.

Placement: after the last top-level import that comes before the first ``def`` /
``class`` (late imports further down are left alone). With no such import: after the
module docstring, else at the top (below any header comments such as a shebang or a
licence). ``from __future__`` imports always go right after the docstring and the
existing ``__future__`` imports, where Python requires them.

Deduplication is per name: ``from os import path, sep`` when ``from os import path``
exists adds ``from os import sep``. A name counts as present only when a top-level
import binds it the same way (same module, name, alias, relative level).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from engine.patching import layout
from engine.patching.symbols import is_definition, statements

ImportNode = cst.Import | cst.ImportFrom
_Key = tuple[str, ...]


def add_imports(module: cst.Module, snippet: cst.Module) -> cst.Module | str:
    """``module`` with the imports of ``snippet`` added; ``module`` itself if all exist.

    Returns a failure sentence when ``snippet`` holds anything but import statements.
    """
    wanted: list[ImportNode] = []
    for stmt in snippet.body:
        if not isinstance(stmt, cst.SimpleStatementLine) or not all(
            isinstance(small, ImportNode) for small in stmt.body
        ):
            return "add_import code must contain only import statements, e.g. 'import os'"
        wanted.extend(small for small in stmt.body if isinstance(small, ImportNode))
    if not wanted:
        return "add_import code is empty"
    present = _present(module)
    for node in wanted:
        missing = _missing(node, present)
        if missing is not None:
            module = _insert(module, missing)
            present |= _keys(missing)
    return module


def _insert(module: cst.Module, node: ImportNode) -> cst.Module:
    body = statements(module)
    future = isinstance(node, cst.ImportFrom) and _module_name(node) == "__future__"
    pos = _position(body, future=future)
    prev = body[pos - 1] if pos else None
    line = cst.SimpleStatementLine(body=[node], leading_lines=layout.blank(1 if prev else 0))
    if prev is not None and _is_import(prev):
        line = line.with_changes(leading_lines=[])
    elif pos < len(body) and not _is_import(body[pos]):
        # A new import block: separate it from the code that follows.
        body[pos] = layout.ensure_spacing(body[pos], 2 if is_definition(body[pos]) else 1)
    body.insert(pos, line)
    return module.with_changes(body=body)


def _position(body: Sequence[cst.BaseStatement], *, future: bool) -> int:
    start = 1 if body and _is_docstring(body[0]) else 0
    last = None
    for index in range(start, len(body)):
        stmt = body[index]
        if is_definition(stmt):
            break
        if _is_import(stmt):
            if future and not _is_future(stmt):
                break
            last = index
    return start if last is None else last + 1


def _present(module: cst.Module) -> set[_Key]:
    keys: set[_Key] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, ImportNode):
                    keys |= _keys(small)
    return keys


def _keys(node: ImportNode) -> set[_Key]:
    """One key per name bound: (kind, module, level, name, alias)."""
    if isinstance(node, cst.Import):
        return {("import", _name(alias.name), _alias(alias)) for alias in node.names}
    base = ("from", _module_name(node), str(len(node.relative)))
    if isinstance(node.names, cst.ImportStar):
        return {(*base, "*", "")}
    return {(*base, _name(alias.name), _alias(alias)) for alias in node.names}


def _missing(node: ImportNode, present: set[_Key]) -> ImportNode | None:
    """``node`` reduced to the names not yet imported, or None when all are."""
    node = node.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)  # it gets its own line
    if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
        return None if _keys(node) <= present else node
    names = node.names
    assert not isinstance(names, cst.ImportStar)
    keep = [alias for alias in names if not _keys(_single(node, alias)) <= present]
    if not keep:
        return None
    if len(keep) < len(names):
        # The new last name ends the way the old last one did (a trailing comma is
        # only legal, and kept, inside parentheses).
        keep[-1] = keep[-1].with_changes(comma=names[-1].comma)
    return node.with_changes(names=keep)


def _single(node: ImportNode, alias: cst.ImportAlias) -> ImportNode:
    return node.with_changes(names=[alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)])


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(small, ImportNode) for small in stmt.body
    )


def _is_future(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(small, cst.ImportFrom) and _module_name(small) == "__future__"
        for small in stmt.body
    )


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _module_name(node: cst.ImportFrom) -> str:
    return _name(node.module) if node.module is not None else ""


def _name(node: cst.CSTNode) -> str:
    return get_full_name_for_node(node) or ""


def _alias(alias: cst.ImportAlias) -> str:
    if alias.asname is None:
        return ""
    return _name(alias.asname.name)
