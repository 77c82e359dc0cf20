"""The contexts plugin writes the run's coverage report and map as the session ends, except
after a fail-fast session a failure stopped (the host measures no coverage of a rejection).
Real pytest under real coverage in child processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.gate.evaluation.sandboxed import (
    CONTEXTS_PLUGIN,
    CONTEXTS_REPORT_ENV,
    CONTEXTS_STOP_ENV,
    DIR,
)

TESTS = "def f(n):\n    return n + 1\n\n\ndef test_ok():\n    assert f(1) == 2\n\n\n{bad}"


def run(tmp: Path, *, failing: bool, fail_fast: bool) -> tuple[bool, bool]:
    work, out = tmp / "work", tmp / "out"
    work.mkdir()
    out.mkdir()
    bad = "def test_bad():\n    assert f(1) == 3\n" if failing else ""
    (work / "test_m.py").write_text(TESTS.format(bad=bad))
    data, report, test_map = out / ".coverage", out / "coverage.json", out / "map.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(DIR),
        CONTEXTS_REPORT_ENV: json.dumps([str(data), str(work), str(test_map), str(report)]),
    }
    argv = [
        sys.executable, "-m", "coverage", "run", f"--data-file={data}", f"--source={work}",
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", CONTEXTS_PLUGIN,
        *(["-x"] if fail_fast else []), "test_m.py",
    ]  # fmt: skip
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == (1 if failing else 0), done.stdout + done.stderr
    return report.is_file(), test_map.is_file()


@pytest.mark.parametrize(
    ("failing", "fail_fast", "written"),
    [(False, False, True), (False, True, True), (True, False, True), (True, True, False)],
    ids=["passed", "passed-fail-fast", "failed", "failed-fail-fast"],
)
def test_the_report_is_written_unless_a_fail_fast_failure_stopped_the_run(
    tmp_path: Path, failing: bool, fail_fast: bool, written: bool
) -> None:
    assert run(tmp_path, failing=failing, fail_fast=fail_fast) == (written, written)


def test_the_map_has_every_tests_duration(tmp_path: Path) -> None:
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    (work / "test_m.py").write_text(
        "import time\n\n\ndef f(n):\n    return n + 1\n\n\n"
        "def test_slow():\n    time.sleep(0.3)\n\n\n"
        "def test_fast():\n    assert f(1) == 2\n"
    )
    (work / "conftest.py").write_text(
        "import pytest, time\n\n\n@pytest.fixture(autouse=True)\n"
        "def setup_and_teardown():\n    time.sleep(0.05)\n    yield\n    time.sleep(0.05)\n"
    )
    data, report, test_map = out / ".coverage", out / "coverage.json", out / "map.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(DIR),
        CONTEXTS_REPORT_ENV: json.dumps([str(data), str(work), str(test_map), str(report)]),
    }
    argv = [
        sys.executable, "-m", "coverage", "run", f"--data-file={data}",
        f"--source={work}", "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", CONTEXTS_PLUGIN, "test_m.py",
    ]  # fmt: skip
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    durations = json.loads(test_map.read_text())["durations"]
    assert set(durations) == {"test_m.py::test_slow", "test_m.py::test_fast"}
    # setup, call and teardown: the fixture's sleeps count
    assert durations["test_m.py::test_slow"] >= 0.4, durations
    assert 0.1 <= durations["test_m.py::test_fast"] < 0.3, durations


def run_past(
    tmp: Path, tests: str, known: list[str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The plugin as the fail-fast of a traced run: ``known`` ids fail without stopping."""
    work, out = tmp / "work", tmp / "out"
    work.mkdir(parents=True)
    out.mkdir()
    (work / "test_m.py").write_text(tests)
    data, report, test_map = out / ".coverage", out / "coverage.json", out / "map.json"
    spec = out / "stop.json"
    spec.write_text(json.dumps({"known": known, "marker": str(out / "stopped")}))
    env = {
        **os.environ,
        "PYTHONPATH": str(DIR),
        CONTEXTS_REPORT_ENV: json.dumps([str(data), str(work), str(test_map), str(report)]),
        CONTEXTS_STOP_ENV: str(spec),
    }
    argv = [
        sys.executable, "-m", "coverage", "run", f"--data-file={data}", f"--source={work}",
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", CONTEXTS_PLUGIN, "test_m.py",
    ]  # fmt: skip
    return subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True), out


PAST = (
    "def f(n):\n    return n + 1\n\n\ndef test_known():\n    assert f(1) == 3\n\n\n"
    "def test_new():\n    assert f(2) == 4\n\n\ndef test_last():\n    assert f(3) == 4\n"
)


def test_a_known_failure_does_not_stop_the_run_and_a_new_one_does(tmp_path: Path) -> None:
    """The baseline's own failure runs on (the tests after it traced, the report written);
    the first failure it did not have stops the session, says so in the marker and leaves
    no report (the host measures no coverage of a stopped run)."""
    done, out = run_past(
        tmp_path / "a",
        PAST.replace("== 4\n\n\ndef test_last", "== 3\n\n\ndef test_last"),
        ["test_m.py::test_known"],
    )
    assert done.returncode == 1 and "1 failed, 2 passed" in done.stdout, done.stdout
    assert (out / "coverage.json").is_file() and not (out / "stopped").exists()
    assert set(json.loads((out / "map.json").read_text())["durations"]) == {
        "test_m.py::test_known", "test_m.py::test_new", "test_m.py::test_last"
    }  # fmt: skip
    done, out = run_past(tmp_path / "b", PAST, ["test_m.py::test_known"])
    assert "2 failed" in done.stdout and "passed" not in done.stdout, done.stdout  # last: not run
    assert (out / "stopped").read_text() == "test_m.py::test_new"
    assert not (out / "coverage.json").exists()


def test_an_interrupted_collection_counts_as_stopped_even_when_its_error_is_known(
    tmp_path: Path,
) -> None:
    """A module that does not import fails on the baseline too: pytest interrupts the
    session before any test runs, and the marker says so — no test was traced."""
    done, out = run_past(
        tmp_path, "import nowhere_to_be_found\n\n\ndef test_x():\n    pass\n", ["test_m.py"]
    )
    assert done.returncode == 2, done.stdout
    assert (out / "stopped").read_text() == "exit status 2"
