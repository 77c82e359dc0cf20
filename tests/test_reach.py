"""Coverage by reach: which tests a change reaches, and what is carried over from the baseline."""

from __future__ import annotations

import pytest

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.probes.coverage_report import LineCoverage
from engine.gate.evaluation.reach import carry_lines, carry_map, line_totals, plan_reach
from engine.gate.evaluation.selection import TestMap
from engine.model import CoverageMetrics

F, G, X = "tests/test_m.py::test_f", "tests/test_m.py::test_g", "tests/test_o.py::test_x"
OLD = "def f():\n    return 1\n"
Z1, Z2 = "tests/test_z.py::test_1", "tests/test_z.py::test_2"
# m.py: line 2 run by test_f; o.py: line 1 at import (no test), 2 by test_g and test_x, 3 by
# test_g; z.py by the two tests of test_z.py
MAP = TestMap(
    tests=(F, G, X, Z1, Z2),
    lines={"m.py": {2: (0,)}, "o.py": {2: (1, 2), 3: (1,)}, "z.py": {1: (3, 4)}},
)
LINES: LineCoverage = {
    "m.py": (frozenset({1, 2}), frozenset()),
    "o.py": (frozenset({1, 2, 3}), frozenset({4})),
}
BASE = line_totals(LINES)


def change(path: str = "m.py", old: str | None = OLD, new: str | None = "x") -> FileChange:
    return FileChange(path=path, old_path=path, old=old, new=new)


def test_the_tests_that_reach_a_changed_file_run_the_selection_first() -> None:
    reach = plan_reach(
        [change(), change("tests/test_n.py", None, "def test_n(): pass\n")],
        MAP,
        LINES,
        BASE,
        selection=("tests/test_n.py",),
    )
    assert reach.usable
    assert reach.args == ("tests/test_n.py", F)
    assert reach.rerun == {F}


@pytest.mark.parametrize(
    ("changes", "kwargs", "why"),
    [
        ([change("data.json")], {}, "data.json is not a Python file"),
        ([change("tests/conftest.py")], {}, "test support code"),
        ([change("tests/helpers.py")], {}, "test support code"),
        ([change("i.py")], {}, None),  # no baseline coverage at all: nothing to carry
        ([change()], {"doctests": True}, "doctests"),
        ([change()], {"known_failures": (F,)}, "fails on the baseline"),
        ([change("o.py")], {}, None),
        ([change("o.py"), change()], {}, "3 of 5 tests reach the change"),
    ],
)
def test_when_the_whole_suite_must_run_under_coverage(
    changes: list[FileChange], kwargs: dict[str, object], why: str | None
) -> None:
    reach = plan_reach(changes, MAP, LINES, BASE, **kwargs)  # type: ignore[arg-type]
    assert (reach.fallback == "") if why is None else (why in reach.fallback)


def test_import_time_only_and_branch_coverage_fall_back() -> None:
    lines = {**LINES, "i.py": (frozenset({1}), frozenset())}
    assert "import time" in plan_reach([change("i.py")], MAP, lines, BASE).fallback
    branches = CoverageMetrics(percent=50.0, covered_lines=5, num_statements=6)
    assert "branches" in plan_reach([change()], MAP, LINES, branches).fallback
    assert "no baseline" in plan_reach([change()], None, LINES, BASE).fallback


def test_unchanged_files_keep_what_the_other_tests_covered() -> None:
    reach = plan_reach([change(), change("tests/test_m.py", "x", "y")], MAP, LINES, BASE)
    assert reach.rerun == {F, G}  # test_m.py changed: both its tests are measured again
    measured: LineCoverage = {"m.py": (frozenset({1}), frozenset({2, 3}))}
    lines = carry_lines(reach, measured, {"m.py", "o.py"})
    assert lines["m.py"] == (frozenset({1}), frozenset({2, 3}))  # as measured
    # o.py:1 import time, kept; 2 also run by test_x, kept; 3 only by test_g: not run now
    assert lines["o.py"] == (frozenset({1, 2}), frozenset({3, 4}))
    assert line_totals(lines).percent == pytest.approx(100 * 3 / 7)


def test_the_next_map_replaces_the_tests_run_again() -> None:
    reach = plan_reach([change()], MAP, LINES, BASE)
    new = carry_map(reach, TestMap(tests=(F,), lines={"m.py": {1: (0,), 2: (0,)}}))
    assert new.covering("m.py", {1, 2}) == {F}
    assert new.covering("o.py", {2}) == {G, X}
    assert new.covering("o.py", {3}) == {G}


def test_totals_are_those_of_coverage_json() -> None:
    empty: frozenset[int] = frozenset()
    totals = line_totals({"a.py": (frozenset({1, 2}), frozenset({3})), "e.py": (empty, empty)})
    assert (totals.covered_lines, totals.num_statements) == (2, 3)
    assert totals.files == {"a.py": pytest.approx(200 / 3), "e.py": 100.0}
