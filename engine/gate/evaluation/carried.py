"""Coverage facts carried over a change: line and arc numbers moved, totals added up.

- :func:`moved_arc`: a baseline arc at its candidate numbers (a negative number, a code
  object's exit, moves with its first line), or None when an end has no twin;
- :func:`touches`: does an arc start or end inside the changed functions;
- :func:`line_totals`: :class:`CoverageMetrics` added up from per-file lines (and
  branches) exactly as ``coverage json`` computes them;
- :func:`adds_up`: do a report's totals equal what its per-file data adds up to.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.gate.evaluation.linemap import Span, within
from engine.gate.evaluation.probes.coverage_report import Arc, LineCoverage
from engine.model import CoverageMetrics

_PERCENT_SLACK = 1e-6


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
