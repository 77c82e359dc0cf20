"""The hand-over of a behaviour recording made by the candidate's traced run
(engine.gate.evaluation.riding): real files, no sandbox needed."""

from __future__ import annotations

import json
import pickle
import threading
from pathlib import Path

import pytest

from engine.gate.evaluation.behaviour import FunctionRef
from engine.gate.evaluation.riding import Rider

F = FunctionRef(id="pkg/m.py::f", file="pkg/m.py", qualname="f", module="pkg.m", sys_path="")
G = FunctionRef(id="pkg/m.py::g", file="pkg/m.py", qualname="g", module="pkg.m", sys_path="")


class _Planted:
    """A pickle that writes a file when loaded: what candidate code could leave."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.write_text, (self.marker, "unpickled on the host"))


def _run_output(out: Path, counts: dict[str, int], payload: object) -> None:
    out.mkdir(parents=True)
    (out / "calls.pkl").write_bytes(pickle.dumps(payload))
    (out / "calls.json").write_text(json.dumps({"counts": counts, "problems": ["p1"]}))


def test_the_spec_plans_the_recording_and_a_run_that_left_none_is_said_so(
    tmp_path: Path,
) -> None:
    rider = Rider([F], tmp_path / "session")
    assert not rider.planned
    spec = rider.spec(tmp_path / "work", tmp_path / "out")
    assert rider.planned
    assert spec["after_collection"] is True  # wrapped once collection has finished
    assert spec["functions"] == [
        {"id": F.id, "module": "pkg.m", "qualname": "f", "file": str(tmp_path / "work/pkg/m.py")}
    ]
    assert spec["summary"] == str(tmp_path / "out" / "calls.json")
    rider.done(None)
    assert rider.wait(threading.Event()) is None
    rider.done(tmp_path)  # once only: a later end changes nothing
    assert rider.wait(threading.Event()) is None


def test_the_recording_is_copied_out_and_only_its_summary_is_read(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    out = tmp_path / "run" / "out"
    _run_output(out, {F.id: 3, G.id: 0}, {"calls": {F.id: [_Planted(marker)]}})
    rider = Rider([F, G], tmp_path / "session")
    rider.spec(tmp_path / "run" / "work", out)
    rider.done(out)
    got = rider.wait(threading.Event())
    assert got is not None and got.done is None  # something to replay
    assert got.tmp == tmp_path / "session" and got.untested == (G.id,)
    assert got.problems == ("p1",)
    kept = tmp_path / "session" / "out"
    assert (kept / "calls.pkl").read_bytes() == (out / "calls.pkl").read_bytes()
    assert not marker.exists()  # the candidate's pickle was never loaded here


def test_a_summary_without_calls_or_functions_leaves_no_recording(tmp_path: Path) -> None:
    nothing = Rider([F], tmp_path / "a")
    _run_output(tmp_path / "o1", {F.id: 0}, {"calls": {}})
    nothing.done(tmp_path / "o1")
    untested = nothing.wait(threading.Event())
    assert untested is not None and untested.done is not None  # all untested: final
    assert untested.done.untested == (F.id,) and untested.done.recorded_on == "candidate"

    uninstalled = Rider([F], tmp_path / "b")  # the recorder wrapped nothing
    _run_output(tmp_path / "o2", {}, {"calls": {}})
    uninstalled.done(tmp_path / "o2")
    assert uninstalled.wait(threading.Event()) is None  # the base records instead

    no_pickle = Rider([F], tmp_path / "c")
    _run_output(tmp_path / "o3", {F.id: 2}, {})
    (tmp_path / "o3" / "calls.pkl").unlink()
    no_pickle.done(tmp_path / "o3")
    assert no_pickle.wait(threading.Event()) is None


def test_waiting_stops_when_the_evaluation_is_cancelled(tmp_path: Path) -> None:
    rider = Rider([F], tmp_path)
    rider.spec(tmp_path / "w", tmp_path / "o")
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    assert rider.wait(cancel) is None  # the run never ended: the cancel ends the wait


HOT = """\
def hot(n):
    return n % 7


def cold(n):
    return n + 1
"""

HOT_TESTS = """\
import lib


def test_hot_is_called_often_and_handed_back():
    held = lib.hot  # the wrapper, as a caller that took it early holds it
    assert sum(lib.hot(i % 50) for i in range(5000)) == sum(i % 50 % 7 for i in range(5000))
    assert not hasattr(lib.hot, "__wrapped__")  # unwrapped after its 20 calls
    assert held(3) == 3  # the held wrapper still works: a plain call
    assert lib.cold(1) == 2
    assert hasattr(lib.cold, "__wrapped__")  # still recording: 1 call so far
"""


@pytest.mark.slow
def test_the_traced_run_records_and_a_function_with_its_calls_is_unwrapped(
    tmp_path: Path,
) -> None:
    """The rider in a real traced pytest run (no sandbox): the recording is handed over,
    and a hot function pays the wrapper for its first calls only."""
    from engine.gate.evaluation.probes.tests import TestsProbe
    from engine.gate.evaluation.sandbox import SandboxRunner
    from tests.repo_helpers import write

    write(tmp_path / "cand" / "lib.py", HOT)
    write(tmp_path / "cand" / "tests" / "test_lib.py", HOT_TESTS)
    hot = FunctionRef(id="lib.py::hot", file="lib.py", qualname="hot", module="lib", sys_path="")
    cold = FunctionRef(id="lib.py::cold", file="lib.py", qualname="cold", module="lib", sys_path="")
    rider = Rider([hot, cold], tmp_path / "session")
    probe = TestsProbe(runner=SandboxRunner(mode="unsafe-none"), test_command="python -m pytest -q")
    report = probe.run(
        tmp_path / "cand", contexts=True, tests=["tests/test_lib.py"], fail_fast=True, rider=rider
    )
    assert report.tests.failed == 0 and report.tests.passed == 1, report.tests.output_tail
    got = rider.wait(threading.Event())
    assert got is not None and got.done is None and got.untested == ()
    summary = json.loads((tmp_path / "session" / "out" / "calls.json").read_text())
    assert summary["counts"] == {hot.id: 20, cold.id: 1}, summary
