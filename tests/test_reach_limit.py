"""The reaching run's own time limit, from the durations the baseline's map recorded."""

from __future__ import annotations

import dataclasses

import pytest

from engine.gate.evaluation.reach import Reach
from engine.gate.evaluation.reach_limit import per_test_limits, reach_limit, reaching_seconds
from engine.gate.evaluation.selection import TestMap, map_from_json
from engine.model import Metrics, TestMetrics, Timeouts

DURATIONS = {
    "tests/test_a.py::test_one": 1.0,
    "tests/test_a.py::test_two": 2.0,
    "tests/test_b.py::test_slow": 30.0,
}
MAP = TestMap(tests=tuple(DURATIONS), durations=DURATIONS)
WHOLE = 40.0  # the whole run: 33 s of tests, 7 s of its own (start-up, collection, report)


def reach(*args: str, files: frozenset[str] = frozenset()) -> Reach:
    return Reach(args=args, files=files, base_map=MAP)


@pytest.mark.parametrize(
    ("args", "files", "seconds"),
    [
        (("tests/test_a.py::test_one",), frozenset(), 7.0 + 1.0),
        (("tests/test_a.py::test_one", "tests/test_a.py::test_two"), frozenset(), 10.0),
        (("tests/test_a.py",), frozenset(), 10.0),  # a file: all of its tests
        (("tests/test_b.py", "tests/test_a.py::test_one"), frozenset(), 38.0),
        (("tests/test_a.py::test_new",), frozenset(), None),  # not run on the baseline
        (("tests/test_c.py",), frozenset(), None),  # a file the baseline did not run
        (("tests/test_a.py",), frozenset({"tests/test_a.py"}), None),  # the candidate's
    ],
)
def test_the_reaching_tests_baseline_time(
    args: tuple[str, ...], files: frozenset[str], seconds: float | None
) -> None:
    assert reaching_seconds(reach(*args, files=files), WHOLE) == seconds


def test_without_durations_or_a_whole_time_it_is_unknown() -> None:
    assert reaching_seconds(Reach(args=("tests/test_a.py::test_one",)), WHOLE) is None
    assert reaching_seconds(reach("tests/test_a.py::test_one"), 0.0) is None


def baseline(duration: float, *, timed_out: bool = False) -> Metrics:
    return Metrics(commit="0" * 40, tests=TestMetrics(duration=duration, timed_out=timed_out))


def test_the_limit_is_the_adaptive_rule_on_the_reaching_part() -> None:
    timeouts = Timeouts(factor=5, floor=20)
    one = reach("tests/test_a.py::test_one")  # 8 s on the baseline
    assert reach_limit(timeouts, baseline(WHOLE), one, whole=200.0) == 40.0
    assert reach_limit(Timeouts(factor=2, floor=20), baseline(WHOLE), one, whole=200.0) == 20.0
    assert reach_limit(timeouts, baseline(WHOLE), one, whole=30.0) == 30.0  # at most the whole's


@pytest.mark.parametrize(
    "why",
    ["no baseline", "timed out", "doctests", "unknown test", "fallback"],
)
def test_no_limit_of_its_own_when_it_cannot_be_known(why: str) -> None:
    timeouts = Timeouts()
    one = reach("tests/test_a.py::test_one")
    known: Metrics | None = baseline(WHOLE, timed_out=why == "timed out")
    doctests: tuple[str, ...] = ("pkg/mod.py",) if why == "doctests" else ()
    if why == "no baseline":
        known = None
    if why == "unknown test":
        one = reach("tests/test_a.py::test_gone")
    if why == "fallback":
        one = dataclasses.replace(one, fallback="no baseline selection map")
    assert reach_limit(timeouts, known, one, whole=900.0, doctest_modules=doctests) is None


def test_durations_survive_the_cache_and_bad_ones_are_dropped() -> None:
    assert map_from_json(MAP.to_json()) == MAP
    data = MAP.to_json() | {"durations": {"tests/test_a.py::test_one": -1}}
    read = map_from_json(data)
    assert read is not None and read.durations == {} and read.tests == MAP.tests
    assert map_from_json({**data, "durations": "soon"}) == dataclasses.replace(MAP, durations={})


def test_each_test_of_an_early_run_gets_its_own_limit() -> None:
    timeouts = Timeouts(factor=5, floor=20)
    limits = per_test_limits(timeouts, MAP, ["tests/test_a.py::test_one"])
    assert limits is not None
    # every timed test of the run's files: max(floor, 5 x its time); others: 5 x the slowest
    assert limits.tests == {"tests/test_a.py::test_one": 20.0, "tests/test_a.py::test_two": 20.0}
    assert limits.default == 150.0
    whole = per_test_limits(timeouts, MAP, ["tests/test_b.py", "tests/test_a.py"])
    assert whole is not None and whole.tests["tests/test_b.py::test_slow"] == 150.0
    assert per_test_limits(timeouts, TestMap(tests=MAP.tests), ["tests/test_a.py"]) is None
    assert per_test_limits(timeouts, None, ["tests/test_a.py"]) is None
