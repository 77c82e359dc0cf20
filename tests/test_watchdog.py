"""The host's side of the per-test time limit: the spec it writes, the marker it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.gate.evaluation.probes import watchdog
from engine.gate.evaluation.reach_limit import TestLimits
from engine.model import TestMetrics


def test_the_spec_names_the_limits_and_the_marker(tmp_path: Path) -> None:
    args, env = watchdog.plugin(tmp_path, {"PATH": "/bin"}, TestLimits({"t.py::a": 3.0}, 9.0))
    assert args == ["-p", "ratchet_watchdog"] and env["PATH"] == "/bin"
    spec = json.loads(Path(env["RATCHET_WATCHDOG"]).read_text())
    marker = str(tmp_path / "hung.json")
    assert spec == {"tests": {"t.py::a": 3.0}, "default": 9.0, "marker": marker}
    assert "sandboxed" in env["PYTHONPATH"]


def test_a_marker_makes_its_test_the_failure(tmp_path: Path) -> None:
    (tmp_path / "hung.json").write_text(json.dumps({"test": "t.py::a", "seconds": 3}))
    session = TestMetrics(errors=1, failures=("<session>",), exit_code=124)
    tests, notes = watchdog.verdict(tmp_path, session)
    assert tests.failures == ("t.py::a",) and tests.failed == 1 and tests.errors == 0
    assert tests.exit_code == 124 and tests.first_failure == "t.py::a: ran past its limit of 3 s"
    assert len(notes) == 1 and "t.py::a ran past its own limit of 3 s" in notes[0]


@pytest.mark.parametrize(
    "marker",
    [
        "",  # none written
        "{not json",
        json.dumps({"test": 3, "seconds": 3}),
        json.dumps({"test": "", "seconds": 3}),
        json.dumps({"test": "t.py::a", "seconds": True}),
        json.dumps({"test": "t.py::a", "seconds": -1}),
        json.dumps({"test": "t.py::a"}),
        json.dumps(["t.py::a", 3]),
    ],
)
def test_no_marker_or_a_malformed_one_leaves_the_verdict(tmp_path: Path, marker: str) -> None:
    if marker:
        (tmp_path / "hung.json").write_text(marker)
    session = TestMetrics(errors=1, failures=("<session>",), exit_code=124)
    assert watchdog.verdict(tmp_path, session) == (session, ())
