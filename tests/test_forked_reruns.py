"""Flaky re-runs in a fork of the failing run's own session (ratchet_rerun), through the
real sandbox: the re-run starts from the session as it was before its first test, not from
a new pytest process, and falls back to one where a fork would not be a clean copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.evaluation import SandboxRunner
from engine.gate.evaluation.probes.selected import run_untraced
from engine.gate.evaluation.probes.tests import TestsProbe

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

# passes only on a re-run (the marker file is left by the first run) that starts from the
# session's state before any test (STATE without the first run's entry) in a process that
# did not import the module itself (a fork of the session, not a new `pytest <id>` process)
FORKED_ONLY = """\
import os
from pathlib import Path

import pytest

STATE = []
IMPORTED_IN = os.getpid()


def once(name):
    marker = Path(name + ".marker")
    first = not marker.exists()
    marker.write_text("failed once")
    return first


class TestFlaky:
    @pytest.mark.parametrize("n", [1, 2])
    def test_param(self, n):
        STATE.append(n)
        assert not once(f"param-{n}"), "first run fails"
        assert STATE.count(n) == 1, f"not a fresh session: {STATE}"
        assert IMPORTED_IN != os.getpid(), "re-run in a new process"


def test_plain():
    assert 1 + 1 == 2
"""

FLAKY_IDS = (
    "tests/test_flaky.py::TestFlaky::test_param[1]",
    "tests/test_flaky.py::TestFlaky::test_param[2]",
)


def project(root: Path, test: str, conftest: str = "") -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_flaky.py").write_text(test)
    if conftest:
        (root / "conftest.py").write_text(conftest)
    return root


def probe(reruns: int = 1, timeout: float = 60) -> TestsProbe:
    return TestsProbe(runner=SandboxRunner(), timeout=timeout, flaky_reruns=reruns)


def test_the_measured_run_re_runs_its_failures_in_a_fork_of_its_session(tmp_path: Path) -> None:
    report = probe().run(project(tmp_path, FORKED_ONLY), contexts=True)
    assert report.flaky == FLAKY_IDS, report.tests.output_tail
    assert (report.tests.passed, report.tests.failed, report.tests.failures) == (3, 0, ())


def test_the_untraced_verdict_run_re_runs_in_a_fork_too(tmp_path: Path) -> None:
    report = run_untraced(probe(), project(tmp_path, FORKED_ONLY), timeout=60)
    assert report is not None
    assert report.flaky == FLAKY_IDS, report.tests.output_tail
    assert report.tests.failures == ()


def test_without_re_runs_the_failures_stand(tmp_path: Path) -> None:
    report = probe(reruns=0).run(project(tmp_path, FORKED_ONLY))
    assert report.flaky == ()
    assert report.tests.failures == FLAKY_IDS


# a thread running when the session would fork: the copy would not be clean (a lock held
# by that thread stays held in the fork), so the re-run is a new pytest process
THREAD = """\
import threading
import time

threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
"""

NEW_PROCESS_ONLY = FORKED_ONLY.replace(
    'assert IMPORTED_IN != os.getpid(), "re-run in a new process"',
    'assert IMPORTED_IN == os.getpid(), "re-run in a fork"',
)


def test_a_session_with_threads_running_re_runs_in_a_new_process(tmp_path: Path) -> None:
    report = probe().run(project(tmp_path, NEW_PROCESS_ONLY, conftest=THREAD))
    assert report.flaky == FLAKY_IDS, report.tests.output_tail


HANGS_ON_RERUN = """\
import time
from pathlib import Path


def test_hangs_when_re_run():
    marker = Path("hang.marker")
    if marker.exists():
        time.sleep(600)
    marker.write_text("failed once")
    raise AssertionError("first run fails")
"""


def test_a_re_run_that_hangs_is_killed_within_the_run_s_limit(tmp_path: Path) -> None:
    """The fork's round is killed 2 s before the run's limit: the failure stands and
    the run is not a timeout (whose rejection would name no failing test)."""
    report = probe(timeout=8).run(project(tmp_path, HANGS_ON_RERUN))
    assert report.tests.failures == ("tests/test_flaky.py::test_hangs_when_re_run",)
    assert not report.tests.timed_out
    assert report.flaky == ()


# the first test fails once and passes when re-run; the second is the only one to run g
GOES_ON = """\
from pathlib import Path

from pkg.mod import f, g


def test_first_flaky():
    marker = Path("first.marker")
    first = not marker.exists()
    marker.write_text("failed once")
    assert f() == 1
    assert not first, "first run fails"


def test_second_runs_g():
    assert g() == 2
"""

MOD = "def f():\n    return 1\n\n\ndef g():\n    return 2\n"
FIRST = "tests/test_flaky.py::test_first_flaky"
SECOND = "tests/test_flaky.py::test_second_runs_g"


def fail_fast_project(root: Path) -> Path:
    project(root, GOES_ON)
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text(MOD)
    return root


def test_a_fail_fast_traced_run_goes_on_past_a_test_that_passes_when_re_run_at_once(
    tmp_path: Path,
) -> None:
    """The reaching run's fail-fast re-runs a new failure in a fork before it stops: a test
    that passes then is forgiven and the run goes on, so the tests after it are traced
    (no fallback to the whole suite under coverage)."""
    told: list[tuple[str, ...]] = []
    report = probe().run(
        fail_fast_project(tmp_path), contexts=True, fail_fast=True, tests=["tests"],
        on_failure=lambda tests: told.append(tests.failures),
    )  # fmt: skip
    assert report.flaky == (FIRST,) and report.went_on == (FIRST,), report.tests.output_tail
    assert report.tests.failures == () and report.tests.passed == 2
    assert told == []  # nobody was told of a failure: the verdict run beside it goes on
    assert report.lines is not None and report.test_map is not None, report.problems
    assert SECOND in report.test_map.covering("pkg/mod.py", {6})  # g's body, traced


def test_without_re_runs_a_fail_fast_traced_run_stops_at_its_first_failure(
    tmp_path: Path,
) -> None:
    report = probe(reruns=0).run(
        fail_fast_project(tmp_path), contexts=True, fail_fast=True, tests=["tests"]
    )
    assert report.tests.failures == (FIRST,) and report.went_on == ()
    assert report.tests.passed == 0  # stopped: the second test did not run
    assert report.lines is None  # a stopped run measures no coverage
