"""Coverage facts carried over a change: line and arc numbers moved, totals added up.

- :func:`carry_map`: the next selection map of a candidate measured by reach
  (:class:`~engine.gate.evaluation.reach.Reach`);
- :func:`moved_arc`: a baseline arc at its candidate numbers (a negative number, a code
  object's exit, moves with its first line), or None when an end has no twin;
- :func:`touches`: does an arc start or end inside the changed functions;
- :func:`line_totals`: :class:`CoverageMetrics` added up from per-file lines (and
  branches) exactly as ``coverage json`` computes them;
- :func:`adds_up`: do a report's totals equal what its per-file data adds up to.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

from engine.gate.evaluation.linemap import Span, within
from engine.gate.evaluation.probes.coverage_report import Arc, LineCoverage
from engine.gate.evaluation.selection import TestMap
from engine.model import CoverageMetrics

if TYPE_CHECKING:  # reach imports this module
    from engine.gate.evaluation.reach import Reach

_PERCENT_SLACK = 1e-6


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
    # arcs only when both sides recorded them: a map missing the reaching tests' arcs
    # would count their branches as never taken (the next plan falls back instead)
    recorded = base.arcs is not None and measured is not None and measured.arcs is not None
    return TestMap(
        tests=tuple(names),
        lines={p: {n[0]: ix for n, ix in _sorted(m).items()} for p, m in lines.items()},
        outside={p: frozenset(ns) for p, ns in outside.items() if ns},
        arcs={p: _sorted(m) for p, m in arcs.items()} if recorded else None,
        outside_arcs={p: frozenset(a) for p, a in outside_arcs.items() if a},
        durations=_carried_durations(reach, measured),
    )


def _carried_durations(reach: Reach, measured: TestMap | None) -> dict[str, float]:
    """The baseline's durations of the tests not run again, and the reaching run's own."""
    carried = {t: d for t, d in reach.base_map.durations.items() if t not in reach.rerun}
    return carried | dict(measured.durations if measured is not None else {})


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


def moved_arc(arc: Arc, mapping: Mapping[int, int]) -> Arc | None:
    a, b = (_moved(n, mapping) for n in arc)
    return None if a is None or b is None else (a, b)


def _moved(n: int, mapping: Mapping[int, int]) -> int | None:
    twin = mapping.get(abs(n))
    return None if twin is None else (twin if n > 0 else -twin)


def touches(arc: Arc, spans: tuple[Span, ...]) -> bool:
    return any(within(abs(n), spans) for n in arc)


def line_totals(lines: LineCoverage) -> CoverageMetrics:
    """Totals and per-file percentages as ``coverage json`` computes them: covered lines
    (plus covered branches) over statements (plus branches)."""
    covered = sum(len(f.executed) for f in lines.values())
    statements = sum(len(f.executed | f.missing) for f in lines.values())
    branches = sum(f.branches.total for f in lines.values() if f.branches is not None)
    taken = sum(f.branches.covered for f in lines.values() if f.branches is not None)
    files = {}
    for path, f in sorted(lines.items()):
        total, done = (f.branches.total, f.branches.covered) if f.branches else (0, 0)
        files[path] = _percent(len(f.executed) + done, len(f.executed | f.missing) + total)
    return CoverageMetrics(
        percent=_percent(covered + taken, statements + branches),
        covered_lines=covered,
        num_statements=statements,
        files=files,
    )


def adds_up(base: CoverageMetrics, lines: LineCoverage) -> bool:
    """Do ``base``'s totals equal what ``lines`` add up to (the same report, read whole)?"""
    mine = line_totals(lines)
    return abs(base.percent - mine.percent) < _PERCENT_SLACK and (
        base.covered_lines,
        base.num_statements,
    ) == (mine.covered_lines, mine.num_statements)


def _percent(covered: int, statements: int) -> float:
    return 100.0 * covered / statements if statements else 100.0
