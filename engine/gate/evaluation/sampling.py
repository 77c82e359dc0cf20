"""Which tests the behaviour recording runs on the base: enough of the reaching ones.

The recording (:mod:`engine.gate.evaluation.behaviour`) keeps at most ``MAX_CALLS``
distinct calls per changed function, but a run of every test that reaches the change pays
pytest's collection of all their modules once more, on the base, beside the candidate's own
runs (1.8 s of CPU on marshmallow 4.4 for a function 85 tests run, in 7 modules).
:func:`recording_tests` keeps, for each changed function, every test the baseline's map
says ran its body when there are at most ``PER_FUNCTION`` of them; otherwise whole test
modules' worth of them, the modules with the most first, until at least ``PER_FUNCTION``.
Only node ids of the map (tests that exist on the base) are kept: a test file the candidate
changed or added is the candidate's, not the base's.

What it costs the check: fewer distinct inputs when the kept tests repeat one another's
calls. A function none of the kept tests calls is reported untested, which turns a merge
into a review (``guard-behaviour-preserved``), never into a silent pass. Pure.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence

from engine.gate.evaluation.behaviour import MAX_CALLS, FunctionRef
from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.selection import TestMap

PER_FUNCTION = 2 * MAX_CALLS  # reaching tests kept per changed function, at least


def recording_tests(
    functions: Sequence[FunctionRef],
    changes: Sequence[FileChange],
    test_map: TestMap | None,
    reaching: Sequence[str],
) -> tuple[str, ...]:
    """The tests of ``reaching`` (node ids and test files, in order) the recording of
    ``functions`` runs; ``reaching`` itself when the map cannot say (module doc)."""
    if test_map is None or not functions:
        return tuple(reaching)
    old = {c.old_path: c.old for c in changes if c.old is not None}
    allowed = {a for a in reaching if "::" in a}
    chosen: set[str] = set()
    for function in functions:
        span = _span(old.get(function.file), function.qualname)
        if span is None:
            return tuple(reaching)
        ran = test_map.covering(function.file, set(range(span[0], span[1] + 1))) & allowed
        chosen |= ran if len(ran) <= PER_FUNCTION else _by_module(ran)
    kept = tuple(a for a in reaching if a in chosen)
    return kept or tuple(reaching)


def _by_module(tests: set[str]) -> set[str]:
    """Whole modules' worth of ``tests``, the modules with the most first (ties by name),
    until at least ``PER_FUNCTION``."""
    counts = Counter(t.split("::", 1)[0] for t in tests)
    kept: set[str] = set()
    for module, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        kept |= {t for t in tests if t.split("::", 1)[0] == module}
        if len(kept) >= PER_FUNCTION:
            break
    return kept


def _span(source: str | None, qualname: str) -> tuple[int, int] | None:
    """First and last line of the module-level function or method ``qualname``."""
    if source is None:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    body: list[ast.stmt] = tree.body
    *owners, name = qualname.split(".")
    for owner in owners:
        found = [n for n in body if isinstance(n, ast.ClassDef) and n.name == owner]
        if not found:
            return None
        body = found[0].body
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node.lineno, node.end_lineno or node.lineno
    return None
