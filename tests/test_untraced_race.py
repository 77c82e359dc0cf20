"""The whole suite under coverage raced against the untraced run (a by-reach fallback):
who decides, and when the caller's work for a passing candidate (``beside``) runs."""

from __future__ import annotations

import threading
import time

from engine.gate.evaluation.background import Background
from engine.gate.evaluation.probes.reached import Untraced
from engine.gate.evaluation.probes.tests import TestsReport
from engine.model import TestMetrics

PASS = TestsReport(tests=TestMetrics(passed=3, collected=3, stage="full"))
FAIL = TestsReport(
    tests=TestMetrics(passed=2, failed=1, collected=3, failures=("t.py::a",), exit_code=1)
)
CANCELLED = TestsReport.of_cancelled(TestMetrics())


def race(plain: TestsReport, whole: TestsReport) -> tuple[TestsReport, list[str]]:
    """The race's result and what ran, in order; the untraced run ends first, its job
    being already done when ``whole`` starts (``whole`` records that it ran)."""
    told: list[str] = []
    gate, besides = threading.Event(), threading.Event()

    def untraced() -> TestsReport:
        gate.wait(5)
        return plain

    def run_whole(stop: threading.Event) -> TestsReport:
        gate.set()
        deadline = time.monotonic() + 2  # long enough for the watcher to act first
        while not (stop.is_set() or besides.is_set()) and time.monotonic() < deadline:
            time.sleep(0.01)
        told.append("whole")
        return CANCELLED if stop.is_set() else whole  # stopped by the untraced rejection

    def beside() -> None:
        told.append("beside")
        besides.set()

    job = Background(untraced, name="test-untraced")
    report = Untraced(job=job, cancel=threading.Event()).race(run_whole, (), beside)
    return report, told


def test_beside_runs_once_the_untraced_run_has_passed() -> None:
    report, told = race(PASS, PASS)
    assert report is PASS and told == ["beside", "whole"]


def test_beside_runs_after_a_passing_whole_suite_when_the_untraced_run_had_no_pass() -> None:
    report, told = race(CANCELLED, PASS)
    assert report is PASS and told == ["whole", "beside"]


def test_a_rejection_never_runs_beside() -> None:
    report, told = race(FAIL, PASS)  # the untraced run rejects first: whole is stopped
    assert report.tests.stage == "untraced" and report.tests.failures == ("t.py::a",)
    assert told == ["whole"]
    report, told = race(CANCELLED, FAIL)  # whole rejects
    assert report is FAIL and told == ["whole"]
