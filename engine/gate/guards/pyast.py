"""Small AST helpers for the guards: tolerant parsing, import-aware qualified names, test
functions, comments, and "what is new in B that A did not have" counting.

Nothing here executes candidate code: ``ast.parse`` and ``tokenize`` only read it.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

MAX_SOURCE = 2_000_000  # characters; larger sources are not parsed (the patcher caps files)


def parse(text: str | None) -> ast.Module | None:
    """The module's AST, or None when it is missing, too large or not valid Python.

    Parsed once per text (the guards of one judgement read each file version many times:
    python-dateutil's 22-file lint fix spent 14 s in the guards, parsing and walking the
    same trees): the tree is shared, so callers only read it."""
    if text is None or len(text) > MAX_SOURCE:
        return None
    return _parse(text)


@functools.lru_cache(maxsize=128)
def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> what it was imported as: ``import os.path as p`` gives ``p: os.path``,
    ``from os import system as s`` gives ``s: os.system``, ``import socket`` gives
    ``socket: socket``. Imports anywhere in the file count (function-level ones too).
    Computed once per tree (a fresh dict each call)."""
    known = _ALIASES.get(id(tree))
    if known is not None and known[0] is tree:  # the tree is held: its id is not reused
        return dict(known[1])
    if len(_ALIASES) >= 256:
        _ALIASES.clear()
    names = _aliases(tree)
    _ALIASES[id(tree)] = (tree, names)
    return dict(names)


_ALIASES: dict[int, tuple[ast.AST, dict[str, str]]] = {}


def _aliases(tree: ast.AST) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain (calls in between are skipped: ``Path.home()``
    inside ``Path.home().joinpath`` gives ``Path.home.joinpath``); None otherwise."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return None


def qualified(node: ast.AST, names: dict[str, str]) -> str | None:
    """:func:`dotted` with its first part resolved through the file's imports."""
    name = dotted(node)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    if head in names:
        head = names[head]
    return f"{head}.{rest}" if rest else head


def imported_modules(tree: ast.AST) -> list[tuple[str, ast.stmt]]:
    """``(module, statement)`` for every import, ``from x import y`` giving ``x`` and
    ``x.y`` (y may be a submodule). Relative imports are left out."""
    out: list[tuple[str, ast.stmt]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.module, node))
            out += [(f"{node.module}.{alias.name}", node) for alias in node.names]
    return out


FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def test_functions(tree: ast.Module) -> dict[str, FunctionNode]:
    """pytest-collectable tests by qualified name: module-level ``test*`` functions and
    ``test*`` methods of classes (``Class.test_x``). A name defined twice keeps the last
    definition, as Python does."""
    found: dict[str, FunctionNode] = {}
    for node in tree.body:
        if isinstance(node, FunctionNode) and node.name.startswith("test"):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, FunctionNode) and item.name.startswith("test"):
                    found[f"{node.name}.{item.name}"] = item
    return found


def duplicate_tests(tree: ast.Module) -> Counter[str]:
    """How many times each test name is defined (an earlier definition is never run)."""
    seen: Counter[str] = Counter()
    for node in tree.body:
        if isinstance(node, FunctionNode) and node.name.startswith("test"):
            seen[node.name] += 1
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, FunctionNode) and item.name.startswith("test"):
                    seen[f"{node.name}.{item.name}"] += 1
    return seen


def comments(text: str | None) -> list[tuple[int, str]]:
    """``(line, comment text)`` for every ``#`` comment; tolerant of broken sources.
    Tokenized once per text (a fresh list each call)."""
    if not text:
        return []
    return list(_comments(text))


@functools.lru_cache(maxsize=128)
def _comments(text: str) -> tuple[tuple[int, str], ...]:
    out: list[tuple[int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                out.append((token.start[0], token.string))
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    return tuple(out)


def source_of(node: ast.AST) -> str:
    """A normalised one-line rendering of ``node`` (comments and layout do not count)."""
    try:
        return " ".join(ast.unparse(node).split())
    except (ValueError, RecursionError, AttributeError):
        return type(node).__name__


@dataclass(frozen=True)
class Hit:
    """One occurrence a detector found: a key that identifies it independently of its line
    (so moving code is not "new"), the line, and what to show."""

    key: str
    line: int
    text: str
    source: str = ""  # the statement itself, when the key is not its text


def new_hits(
    old: ast.AST | None, new: ast.AST | None, detector: Callable[[ast.AST], Iterable[Hit]]
) -> list[Hit]:
    """Occurrences in ``new`` beyond those ``old`` already had, key by key (the last
    occurrences of a key are reported as the new ones)."""
    if new is None:
        return []
    before = Counter(h.key for h in detector(old)) if old is not None else Counter()
    by_key: dict[str, list[Hit]] = {}
    for hit in detector(new):
        by_key.setdefault(hit.key, []).append(hit)
    out: list[Hit] = []
    for key, hits in by_key.items():
        extra = len(hits) - before[key]
        if extra > 0:
            out += hits[-extra:]
    return sorted(out, key=lambda h: h.line)


def walk_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def string_constants(tree: ast.AST) -> Iterator[tuple[ast.Constant, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node, node.value
