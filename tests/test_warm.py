"""Warm starts, through real bubblewrap and real processes: a sandbox started ahead runs
the run it fits exactly as a cold start would, and anything else starts cold."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.gate.evaluation import warm
from engine.gate.evaluation.process import RunResult
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.gate.evaluation.sandboxed import DIR

# they start bubblewrap, which cannot nest inside ratchet's own sandbox; CI runs them
pytestmark = pytest.mark.sandbox

RUNNER = SandboxRunner()
# the test writes what its process looks like: how it was started, what it inherited
PROBE_TEST = """\
import json, os, sys


def test_reports_its_process():
    out = os.environ["RATCHET_OUT"]
    with open(os.path.join(out, "seen.json"), "w") as fh:
        json.dump({
            "orig_argv": sys.orig_argv,
            "argv0": sys.argv[0],
            "path0": sys.path[0],
            "path": [p.replace(os.getcwd(), "<cwd>") for p in sys.path],
            "cwd": os.getcwd(),
            "stdin": os.fstat(0).st_rdev == os.stat(os.devnull).st_rdev and os.read(0, 9) == b"",
            "marker": os.environ.get("RATCHET_MARKER"),
            "pythonpath": os.environ.get("PYTHONPATH", "<unset>").replace(os.getcwd(), "<cwd>"),
            "hashseed": os.environ.get("PYTHONHASHSEED"),
            "main": sys.modules["__main__"].__spec__.name,
        }, fh)
"""
SLOW_TEST = "import time\n\n\ndef test_slow():\n    time.sleep(60)\n"


@pytest.fixture(autouse=True)
def no_slots_left() -> Iterator[None]:
    warm.close_all()
    yield
    warm.close_all()


def run_in(
    tmp: Path, ahead: warm._Warm | None, env: dict[str, str], layout: str = "flat"
) -> RunResult:
    out, work = tmp / "out", tmp / "work"
    out.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    (work / "test_probe.py").write_text(PROBE_TEST)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe.py"]
    paths = {"flat": str(DIR), "src-layout": f"{work / 'src'}{os.pathsep}{DIR}", "no-path": ""}
    full = {"RATCHET_OUT": str(out), **env}
    if paths[layout]:
        full["PYTHONPATH"] = paths[layout]
    return RUNNER.run(
        argv, cwd=work, writable=[out], readable=[DIR], env=full, timeout=20, warm=ahead
    )


def seen(tmp: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((tmp / "out" / "seen.json").read_text())
    return data


@pytest.mark.parametrize("layout", ["flat", "src-layout", "no-path"])
def test_a_run_that_fits_runs_in_the_sandbox_started_ahead_as_a_cold_one_would(
    tmp_path: Path, layout: str
) -> None:
    warm.warm_up(RUNNER)
    with warm.scratch(RUNNER, "ratchet-test-") as (tmp, ahead):
        assert ahead is not None and ahead.started is not None
        proc = ahead.started.proc
        (tmp / "work" / "src").mkdir(parents=True)
        result = run_in(tmp, ahead, {"RATCHET_MARKER": "handed over"}, layout)
        assert result.ok, result.stdout + result.stderr
        assert "1 passed" in result.stdout
        assert proc.poll() is not None  # that process ran it
        hot = seen(tmp)
    cold_dir = tmp_path / "cold"
    (cold_dir / "work" / "src").mkdir(parents=True)
    cold = run_in(cold_dir, None, {"RATCHET_MARKER": "handed over"}, layout)
    assert cold.ok and "1 passed" in cold.stdout
    was = seen(cold_dir)
    assert str(warm.SCRIPT) in hot["orig_argv"] and "-m" not in hot["orig_argv"]  # type: ignore[operator]
    assert "-m" in was["orig_argv"]  # type: ignore[operator]
    # what the run itself can see is the same
    for key in ("stdin", "marker", "hashseed", "main", "path", "pythonpath"):
        assert hot[key] == was[key], key
    assert hot["path0"] == hot["cwd"] and was["path0"] == was["cwd"]
    assert hot["stdin"] is True and hot["marker"] == "handed over"
    assert Path(str(hot["argv0"])).name == Path(str(was["argv0"])).name == "__main__.py"


@pytest.mark.parametrize("why", ["environment", "shadowing module", "other limits"])
def test_a_run_that_does_not_fit_ends_the_warm_process_and_starts_cold(
    tmp_path: Path, why: str
) -> None:
    warm.warm_up(RUNNER)
    with warm.scratch(RUNNER, "ratchet-test-") as (tmp, ahead):
        assert ahead is not None and ahead.started is not None
        proc = ahead.started.proc
        env = {"FOO": "1"} if why == "environment" else {}
        if why == "shadowing module":
            (tmp / "work").mkdir(exist_ok=True)
            (tmp / "work" / "coverage.py").write_text("")
        runner = RUNNER
        if why == "other limits":
            runner = dataclasses.replace(
                RUNNER, limits=dataclasses.replace(RUNNER.limits, processes=77)
            )
        out, work = tmp / "out", tmp / "work"
        work.mkdir(exist_ok=True)
        (work / "test_probe.py").write_text(PROBE_TEST)
        result = runner.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe.py"],
            cwd=work, writable=[out], readable=[DIR], timeout=20, warm=ahead,
            env={"PYTHONPATH": str(DIR), "RATCHET_OUT": str(out), **env},
        )  # fmt: skip
        assert result.ok, result.stdout + result.stderr
        assert proc.poll() is not None  # ended unused
        assert "-m" in seen(tmp)["orig_argv"]  # type: ignore[operator]


def test_a_warm_run_is_killed_at_its_time_limit(tmp_path: Path) -> None:
    warm.warm_up(RUNNER)
    with warm.scratch(RUNNER, "ratchet-test-") as (tmp, ahead):
        assert ahead is not None
        out, work = tmp / "out", tmp / "work"
        (work / "test_probe.py").write_text(SLOW_TEST)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe.py"]
        result = RUNNER.run(
            argv, cwd=work, writable=[out], readable=[DIR], env={"PYTHONPATH": str(DIR)},
            timeout=3, warm=ahead,
        )  # fmt: skip
    assert result.timed_out and not result.ok
    assert result.duration < 20


def test_slots_nobody_takes_end_with_close_all() -> None:
    warm.warm_up(RUNNER)
    idle = list(warm._idle)
    assert len(idle) == warm.SLOTS
    procs = [w.started.proc for w in idle if w.started is not None]
    roots = [w.root for w in idle]
    assert len(procs) == warm.SLOTS and all(p.poll() is None for p in procs)
    warm.close_all()
    assert all(p.poll() is not None for p in procs)
    assert not any(r.exists() for r in roots)
    with warm.scratch(RUNNER, "ratchet-test-") as (_, ahead):
        assert ahead is None  # none left: a cold run's own directory


def test_a_slot_goes_only_to_its_own_runner(tmp_path: Path) -> None:
    warm.warm_up(RUNNER)
    other = dataclasses.replace(RUNNER, limits=dataclasses.replace(RUNNER.limits, processes=77))
    with warm.scratch(other, "ratchet-test-") as (_, ahead):
        assert ahead is None
    with warm.scratch(RUNNER, "ratchet-test-") as (_, ahead):
        assert ahead is not None
