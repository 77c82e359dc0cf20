"""Coverage by reach: measure only the tests that reach a change, carry the rest over.

A test that executes no line of a changed file runs the same code on the candidate as on
the baseline, so the lines (and branch arcs) it covered then it covers now; so does a test
that executes no line of a changed function when nothing else in the file changed. The
baseline's selection map (file:line -> tests, with branch coverage file:arc -> tests, and
what ran outside any test: :mod:`engine.gate.evaluation.selection`) says which tests those
are. So a candidate's coverage needs only the tests that *reach* the change under the
tracer:

- :func:`plan_reach`: the tests to run under coverage — for a source file whose change
  stays inside function bodies (:func:`~engine.gate.evaluation.linemap.
  changed_function_spans`), every test that executed a baseline line of a changed
  function (at least one test that imports the file); for any other changed or deleted
  source file, every test that executed any of its baseline lines; and every changed or
  added test file — or, when the shortcut would not be exact enough, the reason to
  measure the whole suite (:class:`Reach` ``.fallback``). When a changed function's body
  (any function's, in a file changed outside them) ran outside any test — at import or
  collection time, which a run of the reaching tests' modules would not repeat — the
  reaching run collects the whole suite and runs only the reaching tests
  (``Reach.collect``): every module is imported under the tracer, as in the whole suite;
- :func:`carry_lines`: the candidate's per-file coverage — a file changed only inside
  function bodies keeps, at their new line numbers, the baseline lines (and branch arcs)
  outside the changed functions covered by a test outside the reaching set (or by no
  test), plus what the reaching run covered; any other changed or added file as the
  reaching run measured it; an unchanged file keeps each baseline line and branch arc
  covered by a test outside the reaching set (or by no test: import time), plus what the
  reaching run covered. A file's branches: its count as measured (the baseline's, for an
  unchanged file), missing the countable arcs nobody took;
- :func:`carry_map`: the next selection map, the same way, and :func:`line_totals`:
  :class:`CoverageMetrics` added up from per-file coverage as ``coverage json`` adds it,
  branches included (both :mod:`engine.gate.evaluation.carried`).

The verdict (do all tests pass) never comes from here: the whole suite still runs, in one
process, without the tracer (:mod:`engine.gate.evaluation.probes.reached`).

What it cannot see (docs/cycle.md): a change that stops or starts an unchanged file's
code running through a path no baseline test took into a changed file, and module-level
code that a changed import starts or stops running. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from engine.gate.evaluation.carried import adds_up, carry_map, line_totals, moved_arc, touches
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
from engine.gate.evaluation.selection import MAX_NODE_IDS, TestMap, by_their_path
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
    # why the reaching run collects the whole suite (and runs only ``args``): a changed
    # function also runs outside any test, at import or collection time ("": it need not)
    collect: str = ""
    fallback: str = ""
    # the reaching run's own time limit (engine.gate.evaluation.reach_limit); None: the
    # whole suite's applies
    limit: float | None = None

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
) -> Reach:
    """What to run under coverage for ``changes`` (module doc), or why everything must."""
    if test_map is None or lines is None or base is None:
        return _no("no baseline selection map")
    if any(f.branches is not None for f in lines.values()) and test_map.arcs is None:
        return _no("the baseline counts branches but its map records no arcs")
    plugged = sorted(p for p, f in lines.items() if f.branches is not None and p[-3:] != ".py")
    if plugged:  # the map records the arcs of Python files only
        return _no(f"{plugged[0]}'s branches come from a coverage plugin")
    if not adds_up(base, lines):
        return _no("the baseline's coverage is not what its per-file data adds up to")
    ids: set[str] = set()
    test_files: set[str] = set()
    touched: set[str] = set()
    shifted: dict[str, tuple[tuple[Span, ...], Mapping[int, int]]] = {}
    collect = ""
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
        if function_bodies(change.old) is None:
            return _no(f"{change.old_path} does not parse on the baseline")
        collect = collect or _outside_tests(
            change, executed, test_map, inside[0] if inside else None
        )
        if inside is not None:
            shifted[change.path] = inside
            by_line = test_map.lines.get(change.old_path, {})
            spans = inside[0]
            near = test_map.covering(change.old_path, {n for n in by_line if within(n, spans)})
            reached = near or set(sorted(reached)[:1])  # one test imports the file: its lines
        ids |= reached
    if not ids and not test_files:
        return _no("no test reaches the change")
    gone = {t for t in test_map.tests if _file_of(t) in touched}
    ids, by_path = by_their_path(ids, changes)  # a changed module's doctests: its path
    test_files |= by_path
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
        collect=collect,
    )


def _outside_tests(
    change: FileChange, executed: frozenset[int], test_map: TestMap, spans: tuple[Span, ...] | None
) -> str:
    """Why the reaching run must collect the whole suite: a function body of the baseline
    file ran outside any test (called at import or collection time: a test module's
    module-level code or class definitions, a conftest), or "". A run of the reaching
    tests' modules alone would not make that call again, and no test says it depends on
    it; collecting every module (as the whole suite does) makes it, under the tracer.
    Which bodies count: a changed function's (``spans``), or any, when the file changed
    outside function bodies (``spans`` None). An unchanged function that ran outside tests
    did not run changed code there: its lines are carried over like a test's."""
    path = change.old_path
    bodies = function_bodies(change.old or "") or ()
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
    """The candidate's per-file coverage (module doc); ``present``: its source files. None
    when a file changed inside functions was not measured (the reaching run did not import
    it: its statements are unknown), or a file the baseline counted branches of was
    measured without: the whole suite must be measured."""
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
    return (
        base is not None and base.branches is not None and now is not None and now.branches is None
    )


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


def _kept(tests: tuple[int, ...], reach: Reach) -> bool:
    """A baseline line (or arc) stays covered when no test ran it (import time) or one that
    ran it is not run again."""
    return not tests or any(reach.base_map.tests[i] not in reach.rerun for i in tests)


def _is_test_module(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _file_of(node_id: str) -> str:
    return node_id.split("::", 1)[0]
