"""The reaching run's own time limit, from what its tests took on the baseline.

A candidate's test run is killed at ``min(timeouts.tests, max(timeouts.floor,
timeouts.factor x the baseline's duration))``
(:func:`engine.gate.health.adaptive_timeout`). The cascade's reaching run
(:mod:`engine.gate.evaluation.probes.reached`) is a part of the suite, so it gets the
same rule applied to *its* part of the baseline: the durations the baseline's selection
map recorded for the tests it runs (:attr:`TestMap.durations`), plus the session's own
time (start-up, collection, the coverage report: the whole run's time its tests do not
account for; all of it, as if the part collected everything). A candidate that makes a
reaching test hang is then rejected after ``max(floor, factor x that)``, not after the
whole suite's limit.

No limit of its own (None: the whole suite's applies) when the map has no durations (an
old map, one its script mode wrote) or lacks one the run needs: a test or a test file
the baseline did not run, a test file the candidate changed (its tests may be new), or
doctests the run adds.

Each test of a candidate's early runs (the selected stage, the reaching run) also has a
limit of its own (:func:`per_test_limits`, enforced inside the sandbox by
``ratchet_watchdog``): its body may run ``max(floor, factor x`` the test's baseline
duration ``)``; a test the baseline did not time (a new one, an added doctest)
``max(floor, factor x`` the slowest test the baseline timed ``)``. So a test that now loops
is stopped after about ``floor`` seconds, whatever the run's own limit — also where the
run has none of its own. The body only: fixtures set up once and shared (their time
counted in whichever test the baseline ran first) are not limited by it.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from engine.gate.evaluation.reach import Reach
from engine.gate.evaluation.selection import TestMap
from engine.model import Metrics, Timeouts

__all__ = ["TestLimits", "per_test_limits", "reach_limit", "reaching_seconds"]


@dataclass(frozen=True)
class TestLimits:
    """Seconds the body of each test of a run may take (``tests``: by node id; ``default``:
    any other): :func:`per_test_limits`."""

    __test__ = False  # not a pytest class

    tests: Mapping[str, float]
    default: float


def reaching_seconds(reach: Reach, whole: float) -> float | None:
    """What the reaching run took on the baseline, whose whole test run took ``whole`` s
    (module doc); None when unknown."""
    durations = reach.base_map.durations
    if not durations or whole <= 0:
        return None
    by_file: dict[str, float] | None = None
    tests = 0.0
    for arg in reach.args:
        if "::" in arg:
            if arg not in durations:
                return None
            tests += durations[arg]
            continue
        if arg in reach.files:
            return None  # changed or added by the candidate: what its tests take is unknown
        if by_file is None:
            by_file = {}
            for test, seconds in durations.items():
                path = test.split("::", 1)[0]
                by_file[path] = by_file.get(path, 0.0) + seconds
        if arg not in by_file:
            return None
        tests += by_file[arg]
    return max(0.0, whole - sum(durations.values())) + tests


def reach_limit(
    timeouts: Timeouts,
    baseline: Metrics | None,
    reach: Reach,
    *,
    whole: float,
    doctest_modules: Sequence[str] = (),
) -> float | None:
    """The reaching run's limit: ``min(whole, max(floor, factor x reaching_seconds))``, or
    None when it has none of its own (module doc). ``whole``: the whole run's limit."""
    if baseline is None or baseline.tests.timed_out or doctest_modules or not reach.usable:
        return None
    seconds = reaching_seconds(reach, baseline.tests.duration)
    if seconds is None:
        return None
    return min(whole, max(timeouts.floor, timeouts.factor * seconds))


def per_test_limits(
    timeouts: Timeouts, test_map: TestMap | None, runs: Collection[str]
) -> TestLimits | None:
    """The limit of each test of a candidate's early run of ``runs`` (node ids, test files:
    the selection or the reach; module doc); None when the baseline's map timed no test."""
    durations = test_map.durations if test_map is not None else {}
    if not durations:
        return None
    files = {arg.split("::", 1)[0] for arg in runs}
    tests = {
        test: max(timeouts.floor, timeouts.factor * seconds)
        for test, seconds in durations.items()
        if test.split("::", 1)[0] in files
    }
    default = max(timeouts.floor, timeouts.factor * max(durations.values()))
    return TestLimits(tests=tests, default=default)
