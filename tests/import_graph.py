"""Static import graph of engine modules (ast, no imports executed), for layering tests."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def file_of(module: str) -> Path | None:
    """The source file of an ``engine`` module or package, or None when there is none."""
    path = ROOT.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def modules_under(package: str) -> list[str]:
    """Every module of ``package`` (itself included), sorted."""
    base = ROOT.joinpath(*package.split("."))
    found = []
    for file in sorted(base.rglob("*.py")):
        parts = list(file.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(".".join(parts))
    return found


def imports_of(module: str, *, top_level_only: bool = False) -> set[str]:
    """The engine modules ``module`` imports (function-level imports too, unless
    ``top_level_only``); ``from a.b import c`` counts ``a.b.c`` when that is a module."""
    file = file_of(module)
    assert file is not None, module
    tree = ast.parse(file.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "engine"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "engine":
            found.add(str(node.module))
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if file_of(m) is not None} - {module}


def find_cycle(modules: list[str], *, graph: dict[str, set[str]] | None = None) -> list[str] | None:
    """A cycle among ``modules`` (as a path that returns to its start), or None.

    ``graph`` (module -> what it imports) defaults to :func:`imports_of` for each module."""
    imports = graph if graph is not None else {m: imports_of(m) for m in modules}
    edges = {m: sorted(imports.get(m, set()) & set(modules)) for m in modules}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for module in modules:
        if module not in state and (cycle := visit(module)):
            return cycle
    return None
