"""Incompatible signature changes of public callables (part of ``guard-api-change``).

The callables compared are a public module's top-level public functions and the public
methods (plus ``__init__``, ``__new__`` and ``__call__``) of its top-level public classes;
the first parameter of a method (``self``/``cls``) is left out unless it is a
``@staticmethod``. A change is incompatible when a call that bound before may fail to bind
now:

- a parameter that could be passed by keyword is gone or renamed (unless the new version
  takes ``**kwargs``), or one that could be passed by position moved or disappeared
  (unless the new version takes ``*args``);
- a parameter changed kind: positional-or-keyword became positional-only or keyword-only;
- a new parameter without a default, or a default removed;
- ``*args`` or ``**kwargs`` removed; a function became (or stopped being) ``async``;
- a public method removed from a public class.

Purely static: decorators that rewrite a signature, ``functools.wraps`` tricks and
``__signature__`` are not seen; a second definition of a name wins, as in Python.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

from engine.gate.guards.pyast import FunctionNode

Kind = Literal["posonly", "pos", "vararg", "kwonly", "kwarg"]
_PUBLIC_DUNDER_METHODS = frozenset({"__init__", "__new__", "__call__"})


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    has_default: bool = False


def is_public_name(name: str) -> bool:
    """Not ``_private`` (dunders such as ``__version__`` are public)."""
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def public_callables(tree: ast.Module) -> dict[str, FunctionNode | None]:
    """``name`` / ``Class.method`` -> its definition; a public class maps to None itself
    (so a removed method can be told from a removed class)."""
    found: dict[str, FunctionNode | None] = {}
    for node in tree.body:
        if isinstance(node, FunctionNode) and is_public_name(node.name):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            found[node.name] = None
            for item in node.body:
                if isinstance(item, FunctionNode) and (
                    not item.name.startswith("_") or item.name in _PUBLIC_DUNDER_METHODS
                ):
                    found[f"{node.name}.{item.name}"] = item
    return found


def params(node: FunctionNode, *, method: bool) -> list[Param]:
    """The parameters as callers see them (``self``/``cls`` dropped for methods)."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults_from = len(positional) - len(args.defaults)
    out = [
        Param(a.arg, "posonly" if i < len(args.posonlyargs) else "pos", i >= defaults_from)
        for i, a in enumerate(positional)
    ]
    if method and out and not _is_static(node):
        out = out[1:]
    if args.vararg:
        out.append(Param(args.vararg.arg, "vararg"))
    out += [
        Param(a.arg, "kwonly", d is not None)
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    if args.kwarg:
        out.append(Param(args.kwarg.arg, "kwarg"))
    return out


def render(name: str, node: FunctionNode) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    try:
        return f"{prefix} {name.rsplit('.', 1)[-1]}({ast.unparse(node.args)})"
    except (ValueError, RecursionError):
        return f"{prefix} {name}(...)"


def incompatibilities(old: FunctionNode, new: FunctionNode, *, method: bool) -> list[str]:
    """Why a call that bound to ``old`` may not bind to ``new`` (empty when compatible)."""
    problems: list[str] = []
    if isinstance(old, ast.AsyncFunctionDef) != isinstance(new, ast.AsyncFunctionDef):
        problems.append(
            "became async" if isinstance(new, ast.AsyncFunctionDef) else "is no longer async"
        )
    before, after = params(old, method=method), params(new, method=method)
    problems += _param_problems(before, after)
    return problems


def _param_problems(before: list[Param], after: list[Param]) -> list[str]:
    problems: dict[str, str] = {}  # parameter name -> first problem found (no repeats)

    def note(name: str, text: str) -> None:
        problems.setdefault(name, text)

    has_varargs = any(p.kind == "vararg" for p in after)
    has_kwargs = any(p.kind == "kwarg" for p in after)
    old_pos = [p for p in before if p.kind in ("posonly", "pos")]
    new_pos = [p for p in after if p.kind in ("posonly", "pos")]
    new_by_name = {p.name: p for p in after}
    renamed: set[str] = set()  # new names already reported as a rename
    for i, p in enumerate(old_pos):
        q = new_pos[i] if i < len(new_pos) else None
        if q is None:
            moved = new_by_name.get(p.name)
            if moved is not None and moved.kind == "kwonly":
                note(p.name, f"parameter {p.name!r} became keyword-only")
            elif not has_varargs:
                note(p.name, f"positional parameter {p.name!r} removed")
            continue
        if p.kind == "pos" and q.name != p.name:
            note(p.name, f"parameter {p.name!r} renamed or moved (position {i + 1} is {q.name!r})")
            renamed.add(q.name)
        elif p.kind == "pos" and q.kind == "posonly":
            note(p.name, f"parameter {p.name!r} became positional-only")
        if p.has_default and not q.has_default:
            note(q.name, f"parameter {q.name!r} lost its default")
    for p in before:
        if p.kind not in ("pos", "kwonly") or p.name in problems:
            continue
        q = new_by_name.get(p.name)
        if q is None or q.kind not in ("pos", "kwonly"):
            if q is None and has_kwargs:
                continue
            note(p.name, f"keyword parameter {p.name!r} removed")
        elif p.kind == "kwonly" and p.has_default and not q.has_default:
            note(p.name, f"parameter {p.name!r} lost its default")
    old_names = {p.name for p in before}
    for q in after:
        if q.kind in ("vararg", "kwarg") or q.has_default or q.name in old_names | renamed:
            continue
        note(q.name, f"new required parameter {q.name!r}")
    for kind, shown in (("vararg", "*args"), ("kwarg", "**kwargs")):
        if any(p.kind == kind for p in before) and not any(p.kind == kind for p in after):
            note(f"<{kind}>", f"{shown} removed")
    return list(problems.values())


def _is_static(node: FunctionNode) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == "staticmethod")
        or (isinstance(d, ast.Attribute) and d.attr == "staticmethod")
        for d in node.decorator_list
    )
