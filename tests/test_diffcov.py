"""Coverage through the diff (a table): changed lines judged, padding never rewarded."""

from __future__ import annotations

import pytest

from engine.gate.evaluation.diffcov import FileChange, diff_coverage
from engine.gate.evaluation.probes.coverage_report import LineCoverage
from engine.model import DiffCoverage

OLD = "def f(x):\n    if x:\n        return 1\n    return 2\n"  # statements 1-4


def cov(executed: set[int], missing: set[int], path: str = "m.py") -> LineCoverage:
    return {path: (frozenset(executed), frozenset(missing))}


CASES = [
    (
        "untouched tree: nothing changed, no gain",
        [],
        cov({1, 2, 4}, {3}),
        cov({1, 2, 4}, {3}),
        DiffCoverage(measured=True),
    ),
    (
        "always-executed padding raises the percentage but earns nothing",
        [FileChange(path="m.py", old_path="m.py", old=OLD, new="A = 1\nB = 2\n" + OLD)],
        cov({1, 2, 4}, {3}),
        cov({1, 2, 3, 4, 6}, {5}),
        DiffCoverage(measured=True, changed=2, percent=100.0),
    ),
    (
        "a test that covers a pre-existing line: gain = 100 * 1 / 4",
        [FileChange(path="tests/test_m.py", old_path="tests/test_m.py", old=None, new="x")],
        cov({1, 2, 4}, {3}),
        cov({1, 2, 3, 4}, set()),
        DiffCoverage(measured=True, gained=1, gain=25.0),
    ),
    (
        "an edited line nobody runs: listed; a covered old line lost",
        [FileChange(path="m.py", old_path="m.py", old=OLD, new=OLD.replace("1\n", "10\n"))],
        cov({1, 2, 3, 4}, set()),
        cov({1, 2, 4}, {3}),
        DiffCoverage(measured=True, changed=1, uncovered=1, percent=0.0, lines=("m.py:3",),
                     removed_covered=1),
    ),
    (
        "deleting an uncovered line counts as gain",
        [FileChange(path="m.py", old_path="m.py", old=OLD,
                    new="def f(x):\n    if x:\n        pass\n    return 2\n")],
        cov({1, 2, 4}, {3}),
        cov({1, 2, 4}, {3}),
        DiffCoverage(measured=True, changed=1, uncovered=1, percent=0.0, lines=("m.py:3",),
                     removed_uncovered=1, gain=25.0),
    ),
    (
        "a new module coverage never saw: its statements are uncovered",
        [FileChange(path="pkg/new.py", old_path="pkg/new.py", old=None, new="X = 1\nY = 2\n")],
        cov({1, 2, 3, 4}, set()),
        cov({1, 2, 3, 4}, set()),
        DiffCoverage(measured=True, changed=2, uncovered=2, percent=0.0,
                     lines=("pkg/new.py:1", "pkg/new.py:2")),
    ),
    (
        "no baseline lines: the changed lines are judged, no gain is claimed",
        [FileChange(path="m.py", old_path="m.py", old=OLD, new="A = 1\n" + OLD)],
        None,
        cov({1, 2, 3, 5}, {4}),
        DiffCoverage(changed=1, percent=100.0),
    ),
    ("no candidate lines: nothing measured", [], cov({1}, set()), None, DiffCoverage()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "baseline", "candidate", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_diff_coverage(
    changes: list[FileChange],
    baseline: LineCoverage | None,
    candidate: LineCoverage | None,
    expected: DiffCoverage,
) -> None:
    assert diff_coverage(changes, baseline, candidate) == expected
