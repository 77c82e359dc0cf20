"""``guard-import-side-effect``: new code that runs when a module is imported (reject).

Importing a module should define things, not do things: an import-time ``print``, file
write or network call runs in every process that imports the package, and lines that always
run also pad the coverage numbers. In every changed non-test Python file, the module-level
statements (and those of top-level class bodies) the candidate adds must be one of:

- ``import`` / ``from ... import``; ``def`` and ``class`` (decorators included);
- docstrings and other constant expressions, ``pass``, ``del``, ``raise``, ``assert`` of a
  pure expression;
- an assignment (plain, annotated, augmented, ``__all__``) to plain names whose value calls
  nothing outside :data:`PURE_CALLS` (in a class body any value: field declarations);
- ``if TYPE_CHECKING:`` and ``if __name__ == "__main__":`` blocks (whatever is inside);
- ``if``/``try`` blocks whose test is pure and whose statements all qualify (the
  ``try: import x / except ImportError:`` idiom, version checks);
- ``warnings.warn(...)`` and the library idiom
  ``logging.getLogger(...).addHandler(logging.NullHandler())``.

Anything else — a bare call, a loop, ``with``, an assignment to an attribute or item
(monkeypatching another module at import), a call outside the allow-list, the test of an
``if`` that calls something — is a finding with the statement and its line. Only
statements the base did not have count: compared by what they do — for an assignment or
an expression, its targets and the calls it makes outside the allow-list, arguments
included (a rewrite that keeps them, such as ruff's f-string fix, is nothing new); for
anything else, its normalised text — together with the ``if``/``try`` blocks around them
(so moving code is not new, an edit elsewhere in a block — ruff sorting the imports of a
``try:`` — does not renew a side effect the block already had, and a side effect moved
out of a block, now unconditional, is new). A goal may accept them with
``allow: [guard-import-side-effect]``.

Limits: the callee of an allowed call is trusted (``re.compile`` cannot be told from a
shadowing local ``re``), decorators run unchecked, and code a definition runs later (a
function called by a decorator, a metaclass) is not followed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import (
    Hit,
    aliases,
    new_hits,
    parse,
    qualified,
    source_of,
    walk_calls,
)

IMPORT_SIDE_EFFECT = GuardSpec(
    id="guard-import-side-effect",
    requirement="importing a module runs nothing new beyond definitions, imports and "
    "constant assignments",
)

# Calls an import-time assignment may make: constructors and lookups without side effects.
PURE_CALLS = frozenset(
    {
        *("dict", "list", "set", "frozenset", "tuple", "str", "int", "float", "bool", "bytes"),
        *("object", "range", "len", "sorted", "min", "max", "abs", "round", "isinstance"),
        *("logging.getLogger", "re.compile", "collections.namedtuple", "typing.NamedTuple"),
        *("typing.TypeVar", "typing.NewType", "typing.ParamSpec", "typing.TypeVarTuple"),
        *("typing.cast", "typing_extensions.TypeVar", "typing_extensions.ParamSpec"),
        *("dataclasses.field", "enum.auto", "functools.partial", "operator.itemgetter"),
        *("operator.attrgetter", "types.MappingProxyType", "contextvars.ContextVar"),
        *("threading.Lock", "threading.RLock", "threading.local", "threading.Event"),
        *("collections.OrderedDict", "collections.defaultdict", "collections.deque"),
        *("collections.Counter", "collections.ChainMap", "weakref.WeakValueDictionary"),
        *("weakref.WeakKeyDictionary", "weakref.WeakSet", "decimal.Decimal"),
        *("fractions.Fraction", "datetime.timedelta", "datetime.timezone", "datetime.date"),
        *("datetime.datetime", "datetime.time", "uuid.UUID", "struct.Struct", "sys.intern"),
        *("pathlib.Path", "pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.Path.resolve"),
        *("pathlib.Path.joinpath", "pathlib.Path.with_suffix", "pathlib.Path.with_name"),
        *("os.path.join", "os.path.dirname", "os.path.basename", "os.path.abspath"),
        *("os.path.splitext", "os.path.normpath", "os.getenv", "os.environ.get"),
        *("importlib.metadata.version", "sys.getrecursionlimit", "logging.NullHandler"),
    }
)
_STATEMENT_CALLS = frozenset({"warnings.warn", "logging.getLogger.addHandler"})


def find_import_side_effects(files: list[FileVersion]) -> list[Finding]:
    """New import-time statements in changed non-test Python files."""
    findings = []
    for fv in files:
        if not fv.path.endswith(".py") or fv.new is None or fv.is_test:
            continue
        for hit in new_hits(parse(fv.old), parse(fv.new), _import_time_hits):
            findings.append(
                Finding(
                    guard=IMPORT_SIDE_EFFECT.id,
                    file=fv.path,
                    line=hit.line,
                    evidence=hit.text,
                    after=hit.source or hit.key,
                )
            )
    return findings


def _import_time_hits(tree: ast.AST) -> Iterator[Hit]:
    if not isinstance(tree, ast.Module):
        return
    names = aliases(tree)
    for where, stmt in _offending(tree.body, names, in_class=False):
        text = f"{where}{source_of(stmt)}"
        key = _effect(where, stmt, names) or text
        yield Hit(key, stmt.lineno, f"runs at import time: {text[:120]}", source=text)


def _effect(where: str, stmt: ast.stmt, names: dict[str, str]) -> str | None:
    """What an assignment or expression statement does at import time, as a key: where it
    is, what it assigns to, and each call it makes outside the allow-list, with its
    arguments. A rewrite that keeps those is no new side effect (sqlparse 0.6: ruff's
    ``'{:%Y}'.format(datetime.date.today())`` -> ``f'{datetime.date.today():%Y}'`` was
    rejected); a changed argument (``open("a")`` -> ``open("b", "w")``) is. None: the
    statement is judged by its whole text (a loop, a ``with``, a call-less monkeypatch)."""
    if isinstance(stmt, ast.Assign):
        targets = " = ".join(source_of(t) for t in stmt.targets)
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        targets = source_of(stmt.target)
    elif isinstance(stmt, ast.Expr):
        targets = ""
    else:
        return None
    calls = sorted(source_of(c) for c in walk_calls(stmt) if not _pure_call(c, names))
    return f"{where}{targets} <- {'; '.join(calls)}" if calls else None


def _offending(
    body: list[ast.stmt], names: dict[str, str], *, in_class: bool, where: str = ""
) -> Iterator[tuple[str, ast.stmt]]:
    """``(where, statement)`` for each offending statement: an ``if``/``try`` block is
    judged by what it holds, each offending statement keyed with the blocks around it
    (``where``: ``"if os.name == 'nt': "``), so a change elsewhere in the block leaves a
    side effect it already had alone, while one moved out of or into a block is new. An
    ``if`` whose test calls something offends by its test (the statement is the ``if``)."""
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            yield from _offending(stmt.body, names, in_class=True, where=where)
        elif isinstance(stmt, ast.If):
            head = f"{where}if {source_of(stmt.test)}: "
            if _never_on_import(stmt.test):
                yield from _offending(stmt.orelse, names, in_class=in_class, where=head + "else: ")
                continue
            if not _pure(stmt.test, names):
                yield (
                    where,
                    ast.If(test=stmt.test, body=[ast.Pass()], orelse=[], lineno=stmt.lineno),
                )
            yield from _offending(stmt.body, names, in_class=in_class, where=head)
            yield from _offending(stmt.orelse, names, in_class=in_class, where=head + "else: ")
        elif isinstance(stmt, ast.Try | ast.TryStar):
            head = f"{where}try: "
            yield from _offending(stmt.body, names, in_class=in_class, where=head)
            for handler in stmt.handlers:
                kind = f" {source_of(handler.type)}" if handler.type is not None else ""
                inner = f"{head}except{kind}: "
                yield from _offending(handler.body, names, in_class=in_class, where=inner)
            yield from _offending(stmt.orelse, names, in_class=in_class, where=head + "else: ")
            yield from _offending(
                stmt.finalbody, names, in_class=in_class, where=head + "finally: "
            )
        elif not _allowed(stmt, names, in_class=in_class):
            yield where, stmt


def _allowed(stmt: ast.stmt, names: dict[str, str], *, in_class: bool) -> bool:
    if isinstance(stmt, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef):
        return True
    if isinstance(stmt, ast.Pass | ast.Delete | ast.Global | ast.Nonlocal):
        return True
    if isinstance(stmt, ast.Raise):
        return True  # aborting the import is not a side effect
    if isinstance(stmt, ast.Expr):
        value = stmt.value
        if isinstance(value, ast.Constant):
            return True
        return isinstance(value, ast.Call) and _statement_call(value, names)
    if isinstance(stmt, ast.Assert):
        return _pure(stmt.test, names)
    if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not all(_plain_target(t) for t in targets):
            return False
        return in_class or stmt.value is None or _pure(stmt.value, names)
    return False  # ``if`` and ``try`` blocks are looked into by _offending


def _plain_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, ast.Tuple | ast.List):
        return all(_plain_target(e) for e in target.elts)
    return isinstance(target, ast.Starred) and _plain_target(target.value)


def _pure(expr: ast.expr, names: dict[str, str]) -> bool:
    """No call in ``expr`` outside :data:`PURE_CALLS` (string methods on literals are
    fine: ``", ".join(...)``); no lambda bodies are looked into."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and not _pure_call(node, names):
            return False
        if isinstance(node, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr):
            return False
    return True


def _pure_call(node: ast.Call, names: dict[str, str]) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Constant):
        return isinstance(func.value.value, str) and func.attr in ("join", "format", "upper")
    name = qualified(func, names) or ""
    if name in PURE_CALLS:
        return True
    bare = name.rsplit(".", 1)[-1]  # ``from typing import TypeVar`` resolves already
    return name == bare and bare in ("TypeVar", "namedtuple", "field", "NamedTuple", "auto")


def _statement_call(node: ast.Call, names: dict[str, str]) -> bool:
    name = qualified(node.func, names) or ""
    return name in _STATEMENT_CALLS and all(_pure(a, names) for a in node.args)


def _never_on_import(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` (false at run time) and ``__name__ == "__main__"``."""
    if isinstance(test, ast.Name | ast.Attribute):
        return (test.id if isinstance(test, ast.Name) else test.attr) == "TYPE_CHECKING"
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        sides = [test.left, *test.comparators]
        return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
            isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
        )
    return False
