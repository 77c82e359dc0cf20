"""Coverage by reach: measure only the tests that reach a change, carry the rest over.

A test that executes no line of a changed file runs the same code on the candidate as on
the baseline, so the lines it covered then it covers now; so does a test that executes no
line of a changed function when nothing else in the file changed. The baseline's selection map
(file:line -> tests, :mod:`engine.gate.evaluation.selection`) says which tests those are.
So a candidate's coverage needs only the tests that *reach* the change under the tracer:

- :func:`plan_reach`: the tests to run under coverage — for a source file whose change
  stays inside function bodies (:func:`~engine.gate.evaluation.linemap.
  changed_function_spans`), every test that executed a baseline line of a changed
  function (at least one test that imports the file); for any other changed or deleted
  source file, every test that executed any of its baseline lines; and every changed or
  added test file — or, when the shortcut would not be exact enough, the reason to
  measure the whole suite (:class:`Reach` ``.fallback``);
- :func:`carry_lines`: the candidate's per-line coverage — a file changed only inside
  function bodies keeps, at their new line numbers, the baseline lines outside the
  changed functions covered by a test outside the reaching set (or by no test), plus what
  the reaching run covered; any other changed or added file as the reaching run measured
  it; an unchanged file keeps each baseline line covered by a test outside the reaching
  set (or by no test: import time), plus what the reaching run covered;
- :func:`carry_map`: the next selection map, the same way;
- :func:`line_totals`: :class:`CoverageMetrics` added up from per-line coverage.

The verdict (do all tests pass) never comes from here: the whole suite still runs, in one
process, without the tracer (:mod:`engine.gate.evaluation.probes.reach`).

What it cannot see (docs/cycle.md): a change that stops or starts an unchanged file's
code running through a path no baseline test took into a changed file, and module-level
code that a changed import starts or stops running. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from engine.gate.evaluation.carried import adds_up, line_totals, moved_arc, touches
from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.linemap import (
    Span,
    changed_function_spans,
    function_bodies,
    line_map,
    within,
)
from engine.gate.evaluation.probes.coverage_report import (
    Arc,
    Branches,
    FileLines,
    LineCoverage,
)
from engine.gate.evaluation.selection import MAX_NODE_IDS, TestMap
from engine.gate.paths import is_test_file
from engine.model import CoverageMetrics

__all__ = ["Reach", "carry_lines", "carry_map", "line_totals", "plan_reach"]

MAX_SHARE = 0.5  # reaching more than this share of the tests: the whole suite is cheaper
_NONE = FileLines(frozenset(), frozenset())


@dataclass(frozen=True, kw_only=True)
class Reach:
    """``args``: pytest arguments (node ids, test files), the selection's first;
    ``rerun``: node ids whose baseline coverage is replaced (run again, or gone);
    ``fallback``: why the whole suite must run under coverage ("" when it need not)."""

    args: tuple[str, ...] = ()
    rerun: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()  # changed, added or deleted paths
    # files changed inside function bodies only: the changed spans, old -> new line numbers
    shifted: Mapping[str, tuple[tuple[Span, ...], Mapping[int, int]]] = field(default_factory=dict)
    base_lines: LineCoverage = field(default_factory=dict)
    base_map: TestMap = field(default_factory=TestMap)
    fallback: str = ""

    @property
    def usable(self) -> bool:
        return not self.fallback


def _no(reason: str) -> Reach:
    return Reach(fallback=reason)


def plan_reach(
    changes: Sequence[FileChange],
    test_map: TestMap | None,
    lines: LineCoverage | None,
    base: CoverageMetrics | None,
    *,
    selection: Sequence[str] = (),
    known_failures: Collection[str] = (),
) -> Reach:
    """What to run under coverage for ``changes`` (module doc), or why everything must."""
    if test_map is None or lines is None or base is None:
        return _no("no baseline selection map")
    if any(f.branches is not None for f in lines.values()) and test_map.arcs is None:
        return _no("the baseline counts branches but its map records no arcs")
    if not adds_up(base, lines):
        return _no("the baseline's coverage is not what its per-file data adds up to")
    ids: set[str] = set()
    test_files: set[str] = set()
    touched: set[str] = set()
    shifted: dict[str, tuple[tuple[Span, ...], Mapping[int, int]]] = {}
    for change in changes:
        for path in {change.path, change.old_path}:
            touched.add(path)
            if not path.endswith(".py"):
                return _no(f"{path} is not a Python file")
            if is_test_file(path) and not _is_test_module(path):
                return _no(f"{path} is test support code (every test may use it)")
        if _is_test_module(change.path) and change.new is not None:
            test_files.add(change.path)
        if is_test_file(change.old_path):
            continue
        if change.old is None:
            continue  # an added source file: only changed code can reach it
        reached = test_map.covering(change.old_path, set(test_map.lines.get(change.old_path, {})))
        executed = lines.get(change.old_path, _NONE).executed
        if executed and not reached:
            return _no(f"{change.old_path} runs at import time only (no test reaches it)")
        inside = _inside_functions(change, lines, test_map)
        why = _outside_tests(change, executed, test_map, inside[0] if inside else None)
        if why:
            return _no(why)
        if inside is not None:
            shifted[change.path] = inside
            by_line = test_map.lines.get(change.old_path, {})
            spans = inside[0]
            near = test_map.covering(change.old_path, {n for n in by_line if within(n, spans)})
            reached = near or set(sorted(reached)[:1])  # one test imports the file: its lines
        ids |= reached
    if not ids and not test_files:
        return _no("no test reaches the change")
    if ids & set(known_failures):
        return _no("a test that fails on the baseline reaches the change")
    gone = {t for t in test_map.tests if _file_of(t) in touched}
    ids = {t for t in ids if _file_of(t) not in test_files}
    if len(ids) > MAX_NODE_IDS:
        return _no(f"{len(ids)} tests reach the change")
    if test_map.tests and len(ids | gone) > MAX_SHARE * len(test_map.tests):
        return _no(f"{len(ids | gone)} of {len(test_map.tests)} tests reach the change")
    first = [a for a in selection if a in ids or a in test_files]
    rest = sorted(test_files - set(first)) + sorted(ids - set(first))
    return Reach(
        args=tuple(first + rest),
        rerun=frozenset(ids | gone),
        files=frozenset(touched),
        shifted=shifted,
        base_lines=lines,
        base_map=test_map,
    )


def _outside_tests(
    change: FileChange, executed: frozenset[int], test_map: TestMap, spans: tuple[Span, ...] | None
) -> str:
    """Why the shortcut stops at a function body of the baseline file that ran outside any
    test (called at import or collection time: a test module's module-level code or class
    definitions, a conftest), or "": the reaching run imports only the reaching tests'
    modules, so it would not run that call again, and no test says it depends on it. Which
    bodies count: a changed function's (``spans``), or any, when the file changed outside
    function bodies (``spans`` None). An unchanged function that ran outside tests did not
    run changed code there: its lines are carried over like a test's."""
    path = change.old_path
    bodies = function_bodies(change.old or "")
    if bodies is None:
        return f"{path} does not parse on the baseline"
    region = bodies if spans is None else spans
    which = "function" if spans is None else "changed function"
    by_line = test_map.lines.get(path, {})
    if any(within(n, bodies) and within(n, region) and not by_line.get(n) for n in executed):
        return f"a {which} of {path} runs outside any test (at import time)"
    if any(within(n, bodies) and within(n, region) for n in test_map.ran_outside(path)):
        return f"a {which} of {path} also runs outside any test (at import or collection time)"
    return ""


def _inside_functions(
    change: FileChange, lines: LineCoverage, test_map: TestMap
) -> tuple[tuple[Span, ...], dict[int, int]] | None:
    """The changed functions' spans and the line map of a source file changed only inside
    function bodies whose every other baseline statement (and branch arc) keeps its text;
    else None."""
    if change.old is None or change.new is None or change.path != change.old_path:
        return None
    spans = changed_function_spans(change.old, change.new)
    if spans is None:
        return None
    mapping = line_map(change.old, change.new)
    base = lines.get(change.old_path, _NONE)
    if any(n not in mapping for n in base.executed | base.missing if not within(n, spans)):
        return None  # a statement outside them was reformatted: its line has no twin
    arcs = _countable(base, test_map, change.old_path)
    if any(moved_arc(a, mapping) is None for a in arcs if not touches(a, spans)):
        return None  # so was the line an arc outside them starts or ends at
    return spans, mapping


def _countable(base: FileLines, test_map: TestMap, path: str) -> frozenset[Arc]:
    """The baseline file's branch arcs a report counts: the missing ones and those that ran."""
    if base.branches is None:
        return frozenset()
    return base.branches.missing | test_map.branch_arcs(path)


def carry_lines(
    reach: Reach, measured: LineCoverage, present: Collection[str]
) -> LineCoverage | None:
    """The candidate's per-line coverage (module doc); ``present``: its source files. None
    when a file changed inside functions was not measured (the reaching run did not import
    it): its statements are unknown, so the whole suite must be measured."""
    out: LineCoverage = {}
    for path in sorted(set(present) | set(measured) | set(reach.shifted)):
        if path not in present:
            continue
        now = measured.get(path)
        if path in reach.shifted:
            if now is None or _lost_branches(reach, path, now):
                return None
            out[path] = _shifted_lines(reach, path, now)
            continue
        if path in reach.files or path not in reach.base_lines:
            if now is not None:
                out[path] = now
            continue
        if _lost_branches(reach, path, now):
            return None
        out[path] = _unchanged_lines(reach, path, now)
    return out


def _lost_branches(reach: Reach, path: str, now: FileLines | None) -> bool:
    """A baseline file with branches measured now without (another configuration)."""
    base = reach.base_lines.get(path)
    return base is not None and base.branches is not None and now is not None and not now.branches


def _unchanged_lines(reach: Reach, path: str, now: FileLines | None) -> FileLines:
    """An unchanged file: the baseline's lines and branch arcs a test not run again (or no
    test: import time) covered, plus what the reaching run covered."""
    base = reach.base_lines[path]
    statements = base.executed | base.missing
    by_line = reach.base_map.lines.get(path, {})
    outside = reach.base_map.ran_outside(path)
    kept = {n for n in base.executed if n in outside or _kept(by_line.get(n, ()), reach)}
    run = frozenset(kept | ((now.executed if now else frozenset()) & statements))
    branches = None
    if base.branches is not None:
        arcs = _kept_arcs(reach, path)
        # what the reaching run left missing, or (not imported) every countable arc
        open_arcs = (
            now.branches.missing if now and now.branches else _countable(base, reach.base_map, path)
        )
        branches = Branches(total=base.branches.total, missing=frozenset(open_arcs - arcs))
    return FileLines(run, statements - run, branches)


def _shifted_lines(reach: Reach, path: str, now: FileLines) -> FileLines:
    """A file changed inside functions: the measured lines, and the baseline lines (and
    branch arcs) outside the changed functions that stay covered, at their candidate
    numbers."""
    spans, mapping = reach.shifted[path]
    base = reach.base_lines.get(path, _NONE)
    by_line = reach.base_map.lines.get(path, {})
    outside = reach.base_map.ran_outside(path)
    kept = {
        mapping[n]
        for n in base.executed
        if n in mapping
        and not within(n, spans)
        and (n in outside or _kept(by_line.get(n, ()), reach))
    }
    statements = now.executed | now.missing
    run = frozenset((kept & statements) | now.executed)
    branches = now.branches
    if branches is not None:
        arcs = {moved_arc(a, mapping) for a in _kept_arcs(reach, path) if not touches(a, spans)}
        # a countable arc the reaching run did not take is in its missing ones
        branches = Branches(total=branches.total, missing=frozenset(branches.missing - arcs))
    return FileLines(run, statements - run, branches)


def _kept_arcs(reach: Reach, path: str) -> set[Arc]:
    """The baseline branch arcs of ``path`` a test not run again (or no test) took."""
    by_arc = (reach.base_map.arcs or {}).get(path, {})
    kept = {arc for arc, tests in by_arc.items() if _kept(tests, reach)}
    return kept | reach.base_map.outside_arcs.get(path, frozenset())


def carry_map(reach: Reach, measured: TestMap | None) -> TestMap:
    """The next selection map: the baseline's entries of tests not run again (in unchanged
    files, and outside the changed functions of files changed inside them, moved), the
    baseline's lines and arcs run outside any test the same way, and the reaching run's
    own."""
    base = reach.base_map
    names: dict[str, int] = {}
    lines: dict[str, dict[Arc, set[int]]] = {}  # a line n as (n, n): one way to move both
    arcs: dict[str, dict[Arc, set[int]]] = {}
    outside: dict[str, set[int]] = {}
    outside_arcs: dict[str, set[Arc]] = {}
    for path in set(base.lines) | set(base.outside) | set(base.arcs or {}) | set(base.outside_arcs):
        if path in reach.files and path not in reach.shifted:
            continue
        spans, mapping = reach.shifted.get(path, ((), {}))
        move = _mover(path in reach.shifted, spans, mapping)
        for n, ix in base.lines.get(path, {}).items():
            _add(lines, path, move((n, n)), base.tests, ix, reach.rerun, names)
        for arc, ix in (base.arcs or {}).get(path, {}).items():
            _add(arcs, path, move(arc), base.tests, ix, reach.rerun, names)
        outside[path] = {m[0] for n in base.outside.get(path, ()) if (m := move((n, n)))}
        outside_arcs[path] = {m for a in base.outside_arcs.get(path, ()) if (m := move(a))}
    if measured is not None:
        for path, by_line in measured.lines.items():
            for n, ix in by_line.items():
                _add(lines, path, (n, n), measured.tests, ix, frozenset(), names)
        for path, by_arc in (measured.arcs or {}).items():
            for arc, ix in by_arc.items():
                _add(arcs, path, arc, measured.tests, ix, frozenset(), names)
        for path, ns in measured.outside.items():
            outside.setdefault(path, set()).update(ns)
        for path, got in measured.outside_arcs.items():
            outside_arcs.setdefault(path, set()).update(got)
    recorded = base.arcs is not None or (measured is not None and measured.arcs is not None)
    return TestMap(
        tests=tuple(names),
        lines={p: {n[0]: ix for n, ix in _sorted(m).items()} for p, m in lines.items()},
        outside={p: frozenset(ns) for p, ns in outside.items() if ns},
        arcs={p: _sorted(m) for p, m in arcs.items()} if recorded else None,
        outside_arcs={p: frozenset(a) for p, a in outside_arcs.items() if a},
    )


def _mover(
    shifted: bool, spans: tuple[Span, ...], mapping: Mapping[int, int]
) -> Callable[[Arc], Arc | None]:
    """A baseline arc (a line as ``(n, n)``) at its place in the next map, or None: gone
    with the changed functions, or without a twin."""
    if not shifted:
        return lambda arc: arc
    return lambda arc: None if touches(arc, spans) else moved_arc(arc, mapping)


def _add(
    into: dict[str, dict[Arc, set[int]]],
    path: str,
    key: Arc | None,
    tests: tuple[str, ...],
    ix: tuple[int, ...],
    rerun: Collection[str],
    names: dict[str, int],
) -> None:
    """Record the tests ``ix`` (those not run again) at ``key`` of ``path``."""
    if key is None:
        return
    for i in ix:
        if tests[i] not in rerun:
            into.setdefault(path, {}).setdefault(key, set()).add(
                names.setdefault(tests[i], len(names))
            )


def _sorted(by_key: dict[Arc, set[int]]) -> dict[Arc, tuple[int, ...]]:
    return {k: tuple(sorted(ix)) for k, ix in sorted(by_key.items())}


def _kept(tests: tuple[int, ...], reach: Reach) -> bool:
    """A baseline line stays covered when no test ran it (import time) or one that ran it
    is not run again."""
    return not tests or any(reach.base_map.tests[i] not in reach.rerun for i in tests)


def _is_test_module(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _file_of(node_id: str) -> str:
    return node_id.split("::", 1)[0]
