"""Projects whose own pytest configuration spreads the tests over pytest-xdist workers
(``addopts = "-n 2"``, ``-n auto``): ratchet's measuring runs (coverage with per-test
contexts, the behaviour recording, their re-runs) carry ``-n 0``, xdist's own "run in this
process"; the verdict run stays as the project configured it, workers and all.

Before, the tests of such a project ran in workers nobody traced: the baseline measured 0%
of every file, no test reached any change (so every cycle put the whole suite under
coverage), the recording recorded no call and diff coverage failed every candidate — a
review at best, silently. Real xdist, real bubblewrap, real cycles.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.evaluation import SandboxRunner
from engine.gate.evaluation.probes.command import TestCommand, distribution_off
from engine.gate.evaluation.probes.selected import run_untraced
from engine.gate.evaluation.probes.tests import TestsProbe
from tests.repo_helpers import FLAT_CLASSIFY, addopts_project, make_repo, plan_file, ratchet

pytest.importorskip("xdist")  # a dev dependency: CI has it

WORKERS = "bringing up nodes"  # what xdist prints (with -q) when it starts workers


@pytest.mark.sandbox  # bubblewrap cannot nest inside ratchet's own sandbox
@pytest.mark.parametrize("addopts", ["-n 2", "-nauto --dist loadfile", "--numprocesses=2"])
def test_the_measuring_run_is_one_process_and_the_verdict_keeps_its_workers(
    tmp_path: Path, addopts: str
) -> None:
    repo = addopts_project(tmp_path, addopts)
    probe = TestsProbe(runner=SandboxRunner(), timeout=120)

    report = probe.run(repo, contexts=True)

    assert (report.tests.passed, report.tests.failed, report.tests.errors) == (1, 0, 0), (
        report.tests.output_tail
    )
    assert WORKERS not in report.tests.output_tail
    # pkg/calc.py: 6 statements, add's def and body plus unused's def run: 3 covered
    assert report.coverage.files.get("pkg/calc.py") == pytest.approx(50.0), report.problems
    assert report.test_map is not None
    assert report.test_map.covering("pkg/calc.py", {2}) == {"tests/test_calc.py::test_add"}
    whole = run_untraced(probe, repo, (), timeout=120)
    assert whole is not None
    assert (whole.tests.passed, whole.tests.failed) == (1, 0), whole.tests.output_tail
    assert WORKERS in whole.tests.output_tail  # as the user runs it


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_cycle_on_an_xdist_project_measures_by_reach_and_checks_behaviour(
    tmp_path: Path,
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        files={"pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-n 2"\n'},
    )
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )

    run = ratchet("run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan),
                  "--json")  # fmt: skip

    report = run.json
    assert report["outcome"] == "merged", run.stdout
    assert report["baseline"]["coverage"]["files"]["calc/ops.py"] == 100.0
    candidate = report["candidate"]
    assert any("reaching the change" in n for n in candidate["notes"]), candidate["notes"]
    assert candidate["behaviour"]["checked"] and candidate["behaviour"]["calls"] > 0
    assert candidate["diff_coverage"]["measured"] and candidate["diff_coverage"]["uncovered"] == 0
    assert WORKERS in candidate["tests"]["output_tail"]  # the verdict ran with the workers


CASES = [
    # (pytest words: addopts then the command's, env, installed, expected)
    (("-n", "2"), {}, True, ("-n", "0")),
    (("-nauto",), {}, True, ("-n", "0")),
    (("--numprocesses=4", "--dist=loadfile"), {}, True, ("-n", "0")),
    (("--tx", "popen"), {}, True, ("-n", "0")),
    ((), {"PYTEST_ADDOPTS": "-n 3"}, True, ("-n", "0")),
    ((), {}, True, ()),  # xdist installed, not asked for: nothing to switch off
    (("-q", "--no-header"), {}, True, ()),
    (("-n", "2"), {}, False, ()),  # not installed: -n 0 would be a usage error
    (("-n", "2", "-p", "no:xdist"), {}, True, ()),
    (("-n", "2"), {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, True, ()),
    (("-n", "2", "-p", "xdist"), {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, True, ("-n", "0")),
]  # fmt: skip


@pytest.mark.parametrize(("words", "env", "installed", "expected"), CASES)
def test_when_one_process_is_asked_for(
    words: tuple[str, ...], env: dict[str, str], installed: bool, expected: tuple[str, ...]
) -> None:
    assert distribution_off(words, env, installed=installed) == expected


def test_only_measuring_runs_switch_the_workers_off(tmp_path: Path) -> None:
    repo = addopts_project(tmp_path, "-n 2")
    command = TestCommand.parse("python -m pytest -q -p no:cov")
    assert command.plugin_args(repo, one_process=True) == ("-n", "0")
    assert command.plugin_args(repo) == ()


def test_a_worker_count_is_not_taken_for_a_test_path(tmp_path: Path) -> None:
    (tmp_path / "auto").mkdir()  # a directory that happens to share the value's name
    command = TestCommand.parse("python -m pytest -n auto tests")
    assert command.option_args(tmp_path) == ("-n", "auto", "tests")
