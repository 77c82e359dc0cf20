"""Qualified symbol names in a LibCST module: find, list, and compare them.

A qualified name walks classes only: ``func``, ``Class``, ``Class.method``,
``Outer.Inner.method``. Functions are leaves (a function nested in a function is part
of its parent), which is also how radon names blocks. Only direct children of the
module or of a class body count: a ``def`` under ``if``/``try`` is not a symbol.

When a name is defined twice in one namespace, the *last* definition wins, as it does
when Python runs the module.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import cast

import libcst as cst

from engine.gate.change import definitions

Container = cst.Module | cst.IndentedBlock
Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement
Definition = cst.FunctionDef | cst.ClassDef


@dataclass(frozen=True)
class Located:
    """Where a symbol sits: ``container.body[index] is node``; ``depth`` = enclosing classes."""

    container: Container
    index: int
    node: Definition
    depth: int


def find_symbol(module: cst.Module, qualname: str) -> Located | None:
    """The last definition named by ``qualname``, or None when there is none."""
    container: Container = module
    located: Located | None = None
    for depth, name in enumerate(qualname.strip().split(".")):
        if located is not None:
            parent = located.node
            if not isinstance(parent, cst.ClassDef) or not isinstance(
                parent.body, cst.IndentedBlock
            ):
                return None
            container = parent.body
        index = _last_index(container, name)
        if index is None:
            return None
        node = container.body[index]
        assert isinstance(node, cst.FunctionDef | cst.ClassDef)
        located = Located(container=container, index=index, node=node, depth=depth)
    return located


def list_symbols(module: cst.Module) -> list[str]:
    """Every qualified name in the module, in source order (duplicates once)."""
    names: list[str] = []
    for qualname, _node in definitions(module.body):
        if qualname not in names:
            names.append(qualname)
    return names


def describe_missing(module: cst.Module, qualname: str, file: str, limit: int = 10) -> str:
    """A failure sentence for an unknown symbol, naming up to ``limit`` known ones.

    Close spellings come first so that a typo is obvious to a human or a model.
    """
    known = list_symbols(module)
    if not known:
        return f"symbol {qualname!r} not found in {file}: it defines no functions or classes"
    close = difflib.get_close_matches(qualname, known, n=3, cutoff=0.6)
    ordered = close + [name for name in known if name not in close]
    shown = ", ".join(ordered[:limit])
    more = f" (and {len(known) - limit} more)" if len(known) > limit else ""
    return f"symbol {qualname!r} not found in {file}; available: {shown}{more}"


def statements(container: Container) -> list[Statement]:
    """A mutable copy of the container's body (every LibCST statement is one of the two)."""
    return cast(list[Statement], list(container.body))


def is_definition(node: cst.CSTNode) -> bool:
    """True for ``def`` / ``async def`` / ``class`` statements."""
    return isinstance(node, cst.FunctionDef | cst.ClassDef)


def _last_index(container: Container, name: str) -> int | None:
    found = None
    for index, stmt in enumerate(container.body):
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef) and stmt.name.value == name:
            found = index
    return found
