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

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.linemap import (
    Span,
    changed_function_spans,
    function_bodies,
    line_map,
    within,
)
from engine.gate.evaluation.probes.coverage_report import LineCoverage
from engine.gate.evaluation.selection import MAX_NODE_IDS, TestMap
from engine.gate.paths import is_test_file
from engine.model import CoverageMetrics

MAX_SHARE = 0.5  # reaching more than this share of the tests: the whole suite is cheaper
_PERCENT_SLACK = 1e-6


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
    if not _line_based(base):
        return _no("the baseline's coverage counts branches")
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
        executed = lines.get(change.old_path, (frozenset(), frozenset()))[0]
        if executed and not reached:
            return _no(f"{change.old_path} runs at import time only (no test reaches it)")
        if _runs_outside_tests(change, executed, test_map):
            return _no(f"a function of {change.old_path} runs outside any test (at import time)")
        inside = _inside_functions(change, lines)
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


def _runs_outside_tests(change: FileChange, executed: frozenset[int], test_map: TestMap) -> bool:
    """Did a function body of the baseline file run with no test's context — called at
    import or collection time (a test module's class definitions, a conftest)? Then the
    reaching run, which imports only the reaching tests' modules, would not run it, and
    nothing tells which tests depend on it."""
    bodies = function_bodies(change.old or "")
    if bodies is None:
        return True
    by_line = test_map.lines.get(change.old_path, {})
    return any(within(n, bodies) and not by_line.get(n) for n in executed)


def _inside_functions(
    change: FileChange, lines: LineCoverage
) -> tuple[tuple[Span, ...], dict[int, int]] | None:
    """The changed functions' spans and the line map of a source file changed only inside
    function bodies whose every other baseline statement keeps its text; else None."""
    if change.old is None or change.new is None or change.path != change.old_path:
        return None
    spans = changed_function_spans(change.old, change.new)
    if spans is None:
        return None
    mapping = line_map(change.old, change.new)
    run, missing = lines.get(change.old_path, (frozenset(), frozenset()))
    if any(n not in mapping for n in run | missing if not within(n, spans)):
        return None  # a statement outside them was reformatted: its line has no twin
    return spans, mapping


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
        now_run, now_missing = measured.get(path, (frozenset(), frozenset()))
        if path in reach.shifted:
            if path not in measured:
                return None
            out[path] = _shifted_lines(reach, path, now_run, now_run | now_missing)
            continue
        if path in reach.files or path not in reach.base_lines:
            if path in measured:
                out[path] = (now_run, now_missing)
            continue
        base_run, base_missing = reach.base_lines[path]
        by_line = reach.base_map.lines.get(path, {})
        kept = {n for n in base_run if _kept(by_line.get(n, ()), reach)}
        run = frozenset(kept | (now_run & (base_run | base_missing)))
        out[path] = (run, frozenset((base_run | base_missing) - run))
    return out


def _shifted_lines(
    reach: Reach, path: str, now_run: frozenset[int], statements: frozenset[int]
) -> tuple[frozenset[int], frozenset[int]]:
    """A file changed inside functions: the measured lines, and the baseline lines outside
    the changed functions that stay covered, at their candidate numbers."""
    spans, mapping = reach.shifted[path]
    base_run, _ = reach.base_lines.get(path, (frozenset(), frozenset()))
    by_line = reach.base_map.lines.get(path, {})
    kept = {
        mapping[n]
        for n in base_run
        if n in mapping and not within(n, spans) and _kept(by_line.get(n, ()), reach)
    }
    run = frozenset((kept & statements) | now_run)
    return run, statements - run


def _kept(tests: tuple[int, ...], reach: Reach) -> bool:
    """A baseline line stays covered when no test ran it (import time) or one that ran it
    is not run again."""
    return not tests or any(reach.base_map.tests[i] not in reach.rerun for i in tests)


def carry_map(reach: Reach, measured: TestMap | None) -> TestMap:
    """The next selection map: the baseline's entries of tests not run again (in unchanged
    files), and the reaching run's own."""
    names: dict[str, int] = {}
    lines: dict[str, dict[int, set[int]]] = {}

    def add(path: str, n: int, test: str) -> None:
        lines.setdefault(path, {}).setdefault(n, set()).add(names.setdefault(test, len(names)))

    base = reach.base_map
    for path, by_line in base.lines.items():
        spans, mapping = reach.shifted.get(path, ((), {}))
        if path in reach.files and path not in reach.shifted:
            continue
        for n, ix in by_line.items():
            if path in reach.shifted and (within(n, spans) or n not in mapping):
                continue
            for i in ix:
                if base.tests[i] not in reach.rerun:
                    add(path, mapping.get(n, n), base.tests[i])
    if measured is not None:
        for path, by_line in measured.lines.items():
            for n, ix in by_line.items():
                for i in ix:
                    add(path, n, measured.tests[i])
    return TestMap(
        tests=tuple(names),
        lines={p: {n: tuple(sorted(ix)) for n, ix in sorted(m.items())} for p, m in lines.items()},
    )


def line_totals(lines: Mapping[str, tuple[frozenset[int], frozenset[int]]]) -> CoverageMetrics:
    """Totals and per-file percentages as ``coverage json`` computes them for line coverage."""
    covered = sum(len(run) for run, _ in lines.values())
    statements = sum(len(run | missing) for run, missing in lines.values())
    return CoverageMetrics(
        percent=_percent(covered, statements),
        covered_lines=covered,
        num_statements=statements,
        files={p: _percent(len(r), len(r | m)) for p, (r, m) in sorted(lines.items())},
    )


def _percent(covered: int, statements: int) -> float:
    return 100.0 * covered / statements if statements else 100.0


def _line_based(base: CoverageMetrics) -> bool:
    """True when the baseline's percentage is its line share (no branch coverage)."""
    return abs(base.percent - _percent(base.covered_lines, base.num_statements)) < _PERCENT_SLACK


def _is_test_module(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _file_of(node_id: str) -> str:
    return node_id.split("::", 1)[0]
