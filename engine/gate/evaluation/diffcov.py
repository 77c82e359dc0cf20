"""Coverage through the diff: which changed lines ran, and which old lines changed state.

Pure: texts and per-line coverage in, :class:`~engine.model.DiffCoverage` out.

Lines are mapped from baseline to candidate with :class:`difflib.SequenceMatcher` (no
junk heuristics) per changed file; files the candidate did not change map line for line.
A candidate line outside the matched blocks is *changed* (edited or added); a baseline
line outside them is *removed*. Only statement lines count (coverage's executed + missing
lines; for a changed file coverage did not report, the lines that start a statement).

Formula (the only coverage gain ROI and ``coverage-ratchet`` see)::

    gain = 100 * (gained - lost + removed_uncovered) / baseline statements

``gained``/``lost``: pre-existing statements (on both sides) that became covered /
uncovered. Lines a candidate adds never raise ``gain``: always-executed padding earns
nothing; they are judged by the ``diff-coverage`` rule instead.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from engine.gate.evaluation.probes.coverage_report import LineCoverage
from engine.gate.paths import is_test_file
from engine.model import DiffCoverage

MAX_LINES = 50  # uncovered lines listed; ``uncovered`` counts them all


@dataclass(frozen=True, kw_only=True)
class FileChange:
    """One changed file: ``old_path``/``old`` on the baseline, ``path``/``new`` on the
    candidate (None where it does not exist on that side)."""

    path: str
    old_path: str
    old: str | None
    new: str | None


def diff_coverage(
    changes: Sequence[FileChange],
    baseline: LineCoverage | None,
    candidate: LineCoverage | None,
) -> DiffCoverage:
    """Diff coverage of a candidate (see module doc). ``baseline`` None: only the changed
    lines are judged (no gain); ``candidate`` None: nothing can be said (``measured`` false,
    zero counts)."""
    if candidate is None:
        return DiffCoverage()
    changed_files = {c.path: c for c in changes if _counts(c.path) and c.new is not None}
    changed_old = {c.old_path: c for c in changes if _counts(c.old_path) and c.old is not None}
    uncovered: list[str] = []
    changed = 0
    for path, edited in sorted(changed_files.items()):
        executed, missing = (candidate.get(path) or (frozenset(), _statement_lines(edited.new)))[:2]
        lines = _changed_lines(edited.old or "", edited.new or "") & (executed | missing)
        changed += len(lines)
        uncovered += [f"{path}:{n}" for n in sorted(lines & missing)]
    result = DiffCoverage(
        changed=changed,
        uncovered=len(uncovered),
        percent=round(100.0 * (changed - len(uncovered)) / changed, 2) if changed else 100.0,
        lines=tuple(uncovered[:MAX_LINES]),
    )
    if baseline is None:
        return result
    gained = lost = removed_uncovered = removed_covered = 0
    for old_path, entry in baseline.items():
        b_exec, b_miss = entry[:2]
        change = changed_old.get(old_path)
        if change is not None and change.new is not None:
            mapping = _line_map(change.old or "", change.new)
            new_path = change.path
        elif change is not None:  # deleted
            mapping, new_path = {}, old_path
        else:
            mapping, new_path = None, old_path
        c_exec, c_miss = (candidate.get(new_path) or (frozenset(), frozenset()))[:2]
        for line in b_exec | b_miss:
            target = line if mapping is None else mapping.get(line)
            if target is None:
                removed_uncovered += line in b_miss
                removed_covered += line in b_exec
            elif line in b_miss and target in c_exec:
                gained += 1
            elif line in b_exec and target in c_miss:
                lost += 1
    total = sum(len(f[0]) + len(f[1]) for f in baseline.values())
    gain = 100.0 * (gained - lost + removed_uncovered) / total if total else 0.0
    return DiffCoverage(
        measured=True,
        changed=result.changed,
        uncovered=result.uncovered,
        percent=result.percent,
        lines=result.lines,
        gained=gained,
        lost=lost,
        removed_uncovered=removed_uncovered,
        removed_covered=removed_covered,
        gain=round(gain, 4),
    )


def _counts(path: str) -> bool:
    return path.endswith(".py") and not is_test_file(path)


def _matcher(old: str, new: str) -> difflib.SequenceMatcher[str]:
    return difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)


def _line_map(old: str, new: str) -> dict[int, int]:
    """Baseline line -> candidate line for lines that did not change (1-based)."""
    out: dict[int, int] = {}
    for a, b, size in _matcher(old, new).get_matching_blocks():
        out.update({a + i + 1: b + i + 1 for i in range(size)})
    return out


def _changed_lines(old: str, new: str) -> frozenset[int]:
    kept = set(_line_map(old, new).values())
    return frozenset(n for n in range(1, len(new.splitlines()) + 1) if n not in kept)


def _statement_lines(text: str | None) -> frozenset[int]:
    """Lines that start a statement (used when coverage never saw the file)."""
    try:
        tree = ast.parse(text or "")
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(node.lineno for node in ast.walk(tree) if isinstance(node, ast.stmt))
