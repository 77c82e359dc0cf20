"""The selection map and the tests it selects; the baseline cache keyed by content."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from engine.gate.evaluation.cache import BaselineCache, measured_tree
from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.probes.coverage_report import Branches, FileLines
from engine.gate.evaluation.probes.selected import rejects
from engine.gate.evaluation.probes.tests import TestsReport
from engine.gate.evaluation.selection import (
    TestMap,
    map_from_json,
    select_tests,
    touched_lines,
)
from engine.model import Metrics, TestMetrics

OLD = "a = 1\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 2\n"
MAP = TestMap(
    tests=("tests/test_m.py::test_f", "tests/test_m.py::test_g", "tests/test_o.py::test_x"),
    lines={"m.py": {1: (), 5: (0, 2), 9: (1,)}},
)


def change(new: str | None, old: str | None = OLD, path: str = "m.py") -> FileChange:
    return FileChange(path=path, old_path=path, old=old, new=new)


@pytest.mark.parametrize(
    ("new", "lines"),
    [
        (OLD.replace("return 1", "return 3"), {5}),  # replaced
        (OLD.replace("    return 2\n", ""), {9}),  # deleted
        (OLD.replace("def g():\n", "def g():\n    x = 0\n"), {8, 9}),  # inserted between
        (None, set(range(1, 10))),  # the file deleted
    ],
)
def test_touched_lines_are_baseline_lines(new: str | None, lines: set[int]) -> None:
    assert touched_lines(OLD, new) == lines


def test_select_tests_names_the_tests_that_ran_the_touched_lines() -> None:
    edited = change(OLD.replace("return 1", "return 3"))
    assert select_tests([edited], MAP) == ("tests/test_m.py::test_f", "tests/test_o.py::test_x")
    assert select_tests([change(OLD.replace("a = 1", "a = 2"))], MAP) == ()  # no test ran it
    assert select_tests([edited], None) == ()  # no map: nothing selected


def test_select_tests_runs_changed_test_files_whole_and_skips_conftest() -> None:
    selected = select_tests(
        [
            change(OLD.replace("return 2", "return 5")),
            change("def test_g(): ...\n", old=None, path="tests/test_m.py"),
            change("import pytest\n", path="tests/conftest.py"),
        ],
        MAP,
    )
    assert selected == ("tests/test_m.py",)  # test_g's file runs whole: its id is dropped


# ``--doctest-modules``: m.py's own doctest ran line 5, as did test_f
DOCTEST_MAP = TestMap(tests=("m.py::m.f", "tests/test_m.py::test_f"), lines={"m.py": {5: (0, 1)}})


def test_a_changed_modules_own_doctests_run_by_its_path() -> None:
    """Their node ids may not survive the change (a docstring edited or removed): pytest
    would fail the whole run on one it cannot find."""
    edited = change(OLD.replace("return 1", "return 3"))
    assert select_tests([edited], DOCTEST_MAP) == ("m.py", "tests/test_m.py::test_f")
    assert select_tests([change(None)], DOCTEST_MAP) == ("tests/test_m.py::test_f",)  # gone


def test_select_tests_names_files_when_too_many_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engine.gate.evaluation.selection.MAX_NODE_IDS", 1)
    edited = change(OLD.replace("return 1", "return 3"))
    assert select_tests([edited], MAP) == ("tests/test_m.py", "tests/test_o.py")


def test_map_round_trips_and_refuses_malformed_data() -> None:
    assert map_from_json(MAP.to_json()) == MAP
    assert map_from_json({"tests": ["t::a"], "lines": {"m.py": {"1": [3]}}}) is None
    assert map_from_json({"tests": "x"}) is None
    assert map_from_json([1]) is None
    for bad in ([-1], ["0"], [True], [0.0], "0", [[0]]):  # an index names one test, by number
        assert map_from_json({"tests": ["t::a"], "lines": {"m.py": {"1": bad}}}) is None, bad
    # contexts that are not node ids (a project's own dynamic_context) select nothing
    named = map_from_json({"tests": ["pkg.test_m.test_f"], "lines": {"m.py": {"5": [0]}}})
    assert named is not None and named.covering("m.py", {5}) == set()
    assert named.ran_outside("m.py") == {5}  # it ran, but under no test the map names


BRANCH_MAP = TestMap(
    tests=MAP.tests,
    lines=MAP.lines,
    outside={"m.py": frozenset({1, 4, 8})},
    arcs={"m.py": {(5, -4): (0, 2), (9, 10): (1,)}},
    outside_arcs={"m.py": frozenset({(1, 4)})},
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (BRANCH_MAP.to_json(), BRANCH_MAP),
        (MAP.to_json(), MAP),  # no arcs: not recorded, and nothing outside
        ({**MAP.to_json(), "outside": {"m.py": ["1"]}}, None),  # a line is a number
        ({**MAP.to_json(), "outside": {"m.py": [True]}}, None),
        ({**MAP.to_json(), "arcs": {"m.py": [[1, 2, [7]]]}}, None),  # no test 7
        ({**MAP.to_json(), "arcs": {"m.py": [[1, "2", [0]]]}}, None),
        ({**MAP.to_json(), "arcs": {"m.py": [[1, [0]]]}}, None),
        ({**MAP.to_json(), "arcs": {}, "outside_arcs": {"m.py": [[1, 2, 3]]}}, None),
    ],
    ids=["branch", "lines", "str-line", "bool-line", "bad-index", "str-arc", "short-arc", "long"],
)
def test_the_map_keeps_what_ran_outside_tests_and_the_arcs(
    data: object, expected: TestMap | None
) -> None:
    assert map_from_json(data) == expected


def test_arcs_of_contexts_that_are_no_node_ids_ran_outside() -> None:
    data = {"tests": ["t.py::a", "other"], "lines": {}, "arcs": {"m.py": [[2, 3, [0, 1]]]}}
    read = map_from_json(data)
    assert read is not None and read.arcs == {"m.py": {(2, 3): (0,)}}
    assert read.branch_arcs("m.py") == read.outside_arcs["m.py"] == {(2, 3)}


def test_selected_stage_rejects_only_new_failures_or_a_timeout() -> None:
    def report(**kw: object) -> TestsReport:
        return TestsReport(tests=TestMetrics(stage="selected", **kw))  # type: ignore[arg-type]

    assert rejects(report(failures=("t.py::a", "t.py::b")), {"t.py::a"}) == ("t.py::b",)
    assert rejects(report(failures=("t.py::a",)), {"t.py::a"}) == ()  # the baseline's too
    assert rejects(report(failures=("<session>",)), ()) == ()  # no verdict: the full run
    assert rejects(report(timed_out=True, failures=("<session>",)), ()) == ("<session>",)
    assert rejects(None, ()) == ()


def test_measured_tree_leaves_out_the_records() -> None:
    files = [("100644", "a" * 40, "m.py"), ("100644", "b" * 40, "tests/test_m.py")]
    records = [
        ("100644", "c" * 40, "snapshots/c1.json"),
        ("100644", "d" * 40, "memory-bank/cycles/c1.md"),
    ]
    assert measured_tree(files + records) == measured_tree(files)
    assert measured_tree(files) != measured_tree([("100644", "e" * 40, "m.py"), files[1]])
    assert measured_tree(files) != measured_tree([("100755", "a" * 40, "m.py"), files[1]])


def test_cache_keeps_the_map_beside_the_metrics(tmp_path: Path) -> None:
    cache = BaselineCache(tmp_path)
    cache.put("k", Metrics(commit="c"), None, MAP)
    assert cache.test_map("k") == MAP and cache.get("k") == Metrics(commit="c")
    assert cache.test_map("other") is None
    cache.put("plain", Metrics(commit="c"))
    assert cache.test_map("plain") is None


def test_the_cached_map_is_binary_and_one_stored_as_json_before_is_still_read(
    tmp_path: Path,
) -> None:
    cache = BaselineCache(tmp_path)
    timed = dataclasses.replace(BRANCH_MAP, durations={"tests/test_m.py::test_f": 0.25})
    cache.put("k", Metrics(commit="c"), None, timed)
    (stored,) = tmp_path.glob("*.map.*")
    assert stored.suffix == ".bin" and cache.test_map("k") == timed
    stored.write_bytes(stored.read_bytes()[:-9])  # cut short: unreadable, never an error
    assert cache.test_map("k") is None
    stored.unlink()
    # a cache written before the binary form: the JSON beside the metrics
    old = stored.with_suffix(".json")
    old.write_text(json.dumps({"key": "k", "map": timed.to_json()}))
    assert cache.test_map("k") == timed and cache.test_map("other") is None


def test_cache_keeps_the_lines_and_branches_of_each_file(tmp_path: Path) -> None:
    cache = BaselineCache(tmp_path)
    lines = {
        "a.py": FileLines(frozenset({1, 2}), frozenset({3}), Branches(2, frozenset({(2, -1)}))),
        "b.py": FileLines(frozenset({1}), frozenset()),
    }
    cache.put("k", Metrics(commit="c"), lines, BRANCH_MAP)
    assert cache.lines("k") == lines and cache.test_map("k") == BRANCH_MAP
