"""Coverage by reach: which tests a change reaches, and what is carried over from the baseline."""

from __future__ import annotations

import pytest

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.linemap import changed_function_spans, line_map
from engine.gate.evaluation.probes.coverage_report import Branches, FileLines, LineCoverage
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
    "m.py": FileLines(frozenset({1, 2}), frozenset()),
    "o.py": FileLines(frozenset({1, 2, 3}), frozenset({4})),
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
        ([change("i.py")], {}, "no test reaches"),  # no baseline coverage: nothing to trace
        ([change("o.py")], {}, None),
        ([change("o.py"), change()], {}, "3 of 5 tests reach the change"),
    ],
)
def test_when_the_whole_suite_must_run_under_coverage(
    changes: list[FileChange], kwargs: dict[str, object], why: str | None
) -> None:
    reach = plan_reach(changes, MAP, LINES, BASE, **kwargs)  # type: ignore[arg-type]
    assert (reach.fallback == "") if why is None else (why in reach.fallback)


def test_import_time_only_and_a_baseline_that_does_not_add_up_fall_back() -> None:
    lines = {**LINES, "i.py": FileLines(frozenset({1}), frozenset())}
    assert "import time" in plan_reach([change("i.py")], MAP, lines, line_totals(lines)).fallback
    other = CoverageMetrics(percent=50.0, covered_lines=5, num_statements=6)
    assert "adds up" in plan_reach([change()], MAP, LINES, other).fallback
    branches = {"m.py": FileLines(frozenset({1, 2}), frozenset(), Branches(total=2))}
    no_arcs = plan_reach([change()], MAP, branches, line_totals(branches))
    assert "records no arcs" in no_arcs.fallback
    plugged = {**branches, "t.html": FileLines(frozenset({1}), frozenset(), Branches(2))}
    from_plugin = plan_reach([change()], TestMap(arcs={}), plugged, line_totals(plugged))
    assert "t.html's branches come from a coverage plugin" in from_plugin.fallback
    assert "no baseline" in plan_reach([change()], None, LINES, BASE).fallback


def test_unchanged_files_keep_what_the_other_tests_covered() -> None:
    reach = plan_reach([change(), change("tests/test_m.py", "x", "y")], MAP, LINES, BASE)
    assert reach.rerun == {F, G}  # test_m.py changed: both its tests are measured again
    measured: LineCoverage = {"m.py": FileLines(frozenset({1}), frozenset({2, 3}))}
    lines = carry_lines(reach, measured, {"m.py", "o.py"})
    assert lines is not None
    assert lines["m.py"] == FileLines(frozenset({1}), frozenset({2, 3}))  # as measured
    # o.py:1 import time, kept; 2 also run by test_x, kept; 3 only by test_g: not run now
    assert lines["o.py"] == FileLines(frozenset({1, 2}), frozenset({3, 4}))
    assert line_totals(lines).percent == pytest.approx(100 * 3 / 7)


def test_the_next_map_replaces_the_tests_run_again() -> None:
    reach = plan_reach([change()], MAP, LINES, BASE)
    new = carry_map(reach, TestMap(tests=(F,), lines={"m.py": {1: (0,), 2: (0,)}}))
    assert new.covering("m.py", {1, 2}) == {F}
    assert new.covering("o.py", {2}) == {G, X}
    assert new.covering("o.py", {3}) == {G}


def test_totals_are_those_of_coverage_json() -> None:
    empty: frozenset[int] = frozenset()
    totals = line_totals(
        {"a.py": FileLines(frozenset({1, 2}), frozenset({3})), "e.py": FileLines(empty, empty)}
    )
    assert (totals.covered_lines, totals.num_statements) == (2, 3)
    assert totals.files == {"a.py": pytest.approx(200 / 3), "e.py": 100.0}


# s.py: f (lines 1-4) run by test_f, g (7-8) by test_g; line 4 never runs; z.py elsewhere
S_OLD = "def f(x):\n    if x:\n        return 1\n    return 2\n\n\ndef g():\n    return 3\n"
S_NEW = S_OLD.replace("    if x:", "    y = x\n    if y:")  # one line more inside f
S_MAP = TestMap(  # three more tests elsewhere: two of five is a reach worth taking
    tests=(F, G, X, Z1, Z2), lines={"s.py": {2: (0,), 3: (0,), 8: (1,)}, "z.py": {1: (3, 4)}}
)
S_LINES: LineCoverage = {"s.py": FileLines(frozenset({1, 2, 3, 7, 8}), frozenset({4}))}


def s_change(new: str) -> FileChange:
    return FileChange(path="s.py", old_path="s.py", old=S_OLD, new=new)


def test_a_change_inside_a_function_reaches_the_tests_of_that_function_only() -> None:
    reach = plan_reach([s_change(S_NEW)], S_MAP, S_LINES, line_totals(S_LINES))
    assert reach.usable and reach.args == (F,) and reach.rerun == {F}
    # the traced run of test_f on the candidate: f's lines 1-5 and g's def line at import
    measured: LineCoverage = {"s.py": FileLines(frozenset({1, 2, 3, 4, 8}), frozenset({5, 9}))}
    lines = carry_lines(reach, measured, {"s.py"})
    assert lines is not None
    # g's body (old 8, now 9) was run by test_g, which did not run again: kept, shifted
    assert lines["s.py"] == FileLines(frozenset({1, 2, 3, 4, 8, 9}), frozenset({5}))
    new_map = carry_map(reach, TestMap(tests=(F,), lines={"s.py": {2: (0,), 3: (0,), 4: (0,)}}))
    assert new_map.covering("s.py", {9}) == {G} and new_map.covering("s.py", {8}) == set()
    assert new_map.covering("s.py", {2, 3, 4}) == {F}
    # the traced run did not import s.py: its statements are unknown, the whole suite runs
    assert carry_lines(reach, {}, {"s.py"}) is None


@pytest.mark.parametrize(
    "new",
    [
        S_OLD.replace("def f(x):", "def f(x, z=0):"),  # a signature: import time
        S_OLD.replace("def g():", "@staticmethod\ndef g():"),  # a decorator
        S_OLD + "\n\nLIMIT = 3\n",  # module-level code
        S_OLD + "\n\ndef h():\n    return 4\n",  # a new function changes the outline
        S_OLD.replace("    return 3", "    return (3)"),  # AST-equal, but g's line moved...
    ],
    ids=["signature", "decorator", "module-level", "new-function", "reformatted-outside"],
)
def test_a_change_outside_function_bodies_reaches_every_test_of_the_file(new: str) -> None:
    reach = plan_reach(
        [s_change(new.replace("        return 1", "        return 10"))],
        S_MAP,
        S_LINES,
        line_totals(S_LINES),
    )
    if "return (3)" in new:  # g's body is AST-equal, so only f changed — but line 8's
        # text changed, so no baseline line can stand for it: the whole file is measured
        assert reach.rerun == {F, G} and not reach.shifted
        return
    assert reach.usable and set(reach.args) == {F, G} and not reach.shifted


def test_a_comment_only_change_runs_one_test_that_imports_the_file() -> None:
    new = S_OLD.replace("    return 2", "    # the fallback\n    return 2")
    assert changed_function_spans(S_OLD, new) == ()
    assert line_map(S_OLD, new)[8] == 9
    reach = plan_reach([s_change(new)], S_MAP, S_LINES, line_totals(S_LINES))
    assert reach.usable and len(reach.args) == 1 and "s.py" in reach.shifted


G4 = S_OLD.replace("return 3", "return 4")


@pytest.mark.parametrize(
    ("g_test", "outside", "new", "why"),
    [
        (False, {}, S_NEW, ""),  # g's body ran with no test, f changed: g's lines carry over
        (False, {}, G4, "a changed function of s.py runs outside any test"),
        (False, {}, S_OLD + "X = 1\n", "a function of s.py runs outside any test"),
        (True, {"s.py": frozenset({2})}, S_NEW, "changed function of s.py also runs outside"),
        (True, {"s.py": frozenset({8})}, S_NEW, ""),
        (True, {"s.py": frozenset({8})}, G4, "changed function of s.py also runs outside"),
        (True, {"s.py": frozenset({1})}, S_NEW, ""),  # f's def line: import time, no body
        (True, {"s.py": frozenset({8})}, S_OLD + "X = 1\n", "a function of s.py also runs"),
    ],
)
def test_a_changed_function_run_outside_any_test_makes_the_reaching_run_collect_everything(
    g_test: bool, outside: dict[str, frozenset[int]], new: str, why: str
) -> None:
    """A function body that ran with no test's context (called at import or collection
    time, e.g. by a test module's class definition) or outside tests as well as in them:
    a run of the reaching tests' modules would not call it there, and no test says it
    depends on it — so the reaching run collects the whole suite (every module imported
    under the tracer) when it is a changed function, or any function of a file changed
    outside them; the plan stays usable.
    g's line 8 ran with no test, or in test_g (``g_test``) and, maybe, outside too."""
    lines: LineCoverage = {"s.py": FileLines(frozenset({1, 2, 3, 7, 8}), frozenset({4}))}
    by_line = {2: (0,), 3: (0,), **({8: (1,)} if g_test else {})}
    test_map = TestMap(
        tests=S_MAP.tests, lines={"s.py": by_line, "z.py": {1: (3, 4)}}, outside=outside
    )
    reach = plan_reach([s_change(new)], test_map, lines, line_totals(lines))
    assert reach.usable, reach.fallback
    assert (why in reach.collect) if why else not reach.collect, reach.collect


def test_totals_with_branches_are_those_of_coverage_json() -> None:
    """(covered lines + covered branches) / (statements + branches), per file too."""
    lines = {
        "a.py": FileLines(frozenset({1, 2, 3}), frozenset({4}), Branches(4, frozenset({(2, 4)}))),
        "b.py": FileLines(frozenset({1}), frozenset(), Branches(0)),
    }
    totals = line_totals(lines)
    assert totals.percent == pytest.approx(100 * (4 + 3) / (5 + 4))
    assert (totals.covered_lines, totals.num_statements) == (4, 5)
    assert totals.files == {"a.py": pytest.approx(75.0), "b.py": 100.0}


def test_an_unchanged_file_the_reaching_run_did_not_import_keeps_the_other_tests_arcs() -> None:
    """o.py's branch 2->3 was test_g's alone (run again: not carried), 2->4 test_x's
    (kept), 3->exit never ran: missing now, 2->3 and 3->exit."""
    base_lines = {
        **LINES,
        "m.py": FileLines(frozenset({1, 2}), frozenset(), Branches(0)),
        "o.py": FileLines(frozenset({1, 2, 3}), frozenset({4}), Branches(3, frozenset({(3, -1)}))),
    }
    test_map = TestMap(
        tests=MAP.tests, lines=MAP.lines, arcs={"o.py": {(2, 3): (1,), (2, 4): (2,)}}
    )
    reach = plan_reach(
        [change(), change("tests/test_m.py", "x", "y")],
        test_map,
        base_lines,
        line_totals(base_lines),
    )
    assert reach.usable and reach.rerun == {F, G}
    measured = {"m.py": FileLines(frozenset({1}), frozenset({2}), Branches(0))}
    lines = carry_lines(reach, measured, {"m.py", "o.py"})
    assert lines is not None
    assert lines["o.py"] == FileLines(
        frozenset({1, 2}), frozenset({3, 4}), Branches(3, frozenset({(2, 3), (3, -1)}))
    )
    # measured without branches (another configuration): nothing can be carried
    assert (
        carry_lines(reach, {**measured, "o.py": FileLines(frozenset(), frozenset())}, {"o.py"})
        is None
    )


def test_a_changed_modules_own_doctests_run_by_its_path() -> None:
    """With ``--doctest-modules`` a module's doctests are tests of the module itself; the
    change may edit or remove the docstring, so the node id is not run (pytest would fail
    the whole run on one it cannot find): the module is, by its path."""
    doctest = "m.py::m.f"
    with_doctest = TestMap(
        tests=(*MAP.tests, doctest),
        lines={**MAP.lines, "m.py": {2: (0, 5)}},
    )
    reach = plan_reach([change()], with_doctest, LINES, BASE)
    assert reach.usable, reach.fallback
    assert reach.args == ("m.py", F) and reach.rerun == {F, doctest}
    gone = plan_reach([change(new=None)], with_doctest, LINES, BASE)
    assert gone.args == (F,)  # a deleted module's doctests run nowhere
