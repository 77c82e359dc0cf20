"""Where a change to a Python file lands: the functions it changes, and the old -> new line
numbers of everything else.

- :func:`changed_function_spans`: when the change leaves the file's *outline* alone — the
  module with every function body taken out: imports, module and class level code,
  decorators, signatures, defaults, the functions themselves and their order — the line
  ranges (baseline numbering) of the functions whose bodies differ (compared as ASTs:
  formatting and comments do not count). None when the outline changed (code that runs at
  import time did, so any test that imports the file may see it) or a side does not parse;
- :func:`line_map`: baseline line -> candidate line for every line outside the changed
  regions (the ``equal`` blocks of the line diff).

A nested function is part of its outer function's body. Pure: no I/O, nothing is run.
"""

from __future__ import annotations

import ast
import difflib

Span = tuple[int, int]  # first and last line, 1-based, inclusive


def changed_function_spans(old: str, new: str) -> tuple[Span, ...] | None:
    """The ``def``-to-last-line ranges of the baseline functions whose bodies the change
    rewrote, or None when it changed anything else that runs (module doc)."""
    try:
        old_outline, old_bodies = _outline(ast.parse(old))
        new_outline, new_bodies = _outline(ast.parse(new))
    except (SyntaxError, ValueError):
        return None
    if old_outline != new_outline or len(old_bodies) != len(new_bodies):
        return None
    return tuple(
        span for (body, span), (now, _) in zip(old_bodies, new_bodies, strict=True) if body != now
    )


def line_map(old: str, new: str) -> dict[int, int]:
    """Baseline line -> candidate line for the lines the change leaves as they were."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    out: dict[int, int] = {}
    for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            out.update({i1 + k + 1: j1 + k + 1 for k in range(i2 - i1)})
    return out


def function_bodies(source: str) -> tuple[Span, ...] | None:
    """The body lines (first body statement to last line) of every function, nested ones
    included; None when ``source`` does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    return tuple(
        (_first_line(node.body[0]), node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body
    )


def within(line: int, spans: tuple[Span, ...]) -> bool:
    return any(first <= line <= last for first, last in spans)


def _outline(tree: ast.Module) -> tuple[str, list[tuple[str, Span]]]:
    """The module's dump with every outermost function body replaced by ``pass``, and
    those bodies (dumped) with their functions' spans, in source order."""
    bodies: list[tuple[str, Span]] = []

    class Strip(ast.NodeTransformer):
        def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
            return self._strip(node)

        def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
            return self._strip(node)

        def _strip(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
            dumped = ast.dump(ast.Module(body=node.body, type_ignores=[]))
            bodies.append((dumped, (node.lineno, node.end_lineno or node.lineno)))
            node.body = [ast.Pass()]
            return node

    return ast.dump(Strip().visit(tree)), bodies


def _first_line(stmt: ast.stmt) -> int:
    """A statement's first line, its decorators included."""
    return min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
