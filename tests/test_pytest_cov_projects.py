"""Projects whose own pytest configuration turns pytest-cov on (``--cov`` in addopts or in
the tox command): ratchet measures coverage itself, so every sandboxed pytest run it starts
carries ``--no-cov`` (pytest-cov's own off switch) when the plugin will load, and nothing
when it will not (not installed, blocked with ``-p no:cov``, autoload disabled).

Found on cachetools 8.0.2 (``py.test --cov=cachetools --cov-branch`` in tox.ini): pytest-cov's
session took the tracer over, ratchet's report said "No data to report" and every baseline
measured 0 statements; on python-dateutil 4.0.0 it measured 22% of a ~90% covered package.
These tests need pytest-cov (a dev dependency); without it they are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.evaluation import SandboxRunner
from engine.gate.evaluation.probes.command import TestCommand, coverage_plugin_off
from engine.gate.evaluation.probes.selected import run_untraced
from engine.gate.evaluation.probes.tests import TestsProbe
from tests.repo_helpers import addopts_project


@pytest.mark.sandbox  # bubblewrap cannot nest inside ratchet's own sandbox
@pytest.mark.parametrize(
    "addopts",
    [
        "--cov=pkg --cov-branch --cov-report=term-missing",
        # the project's own threshold would fail every run: ratchet's rules judge coverage
        "--cov=pkg --cov-fail-under=100",
    ],
)
def test_the_projects_pytest_cov_does_not_take_over_ratchets_coverage(
    tmp_path: Path, addopts: str
) -> None:
    pytest.importorskip("pytest_cov")
    repo = addopts_project(tmp_path, addopts)
    probe = TestsProbe(runner=SandboxRunner(), timeout=60)
    report = probe.run(repo, contexts=True)
    assert (report.tests.passed, report.tests.failed, report.tests.errors) == (1, 0, 0), (
        report.tests.output_tail
    )
    # pkg/calc.py: 6 statements, add's def and body plus unused's def run: 3 covered
    assert report.coverage.files.get("pkg/calc.py") == pytest.approx(50.0), report.problems
    assert report.test_map is not None
    assert report.test_map.covering("pkg/calc.py", {2}) == {"tests/test_calc.py::test_add"}
    selected = run_untraced(probe, repo, ["tests/test_calc.py::test_add"], timeout=60)
    whole = run_untraced(probe, repo, (), timeout=60)
    for run in (selected, whole):
        assert run is not None
        assert (run.tests.passed, run.tests.failed, run.tests.errors) == (1, 0, 0), (
            run.tests.output_tail
        )


@pytest.mark.sandbox
def test_a_project_that_blocks_pytest_cov_gets_no_no_cov(tmp_path: Path) -> None:
    """``--no-cov`` is an option of the plugin: where it does not load it would be a usage
    error (exit 4) on every run."""
    repo = addopts_project(tmp_path, "-p no:cov -q")
    report = TestsProbe(runner=SandboxRunner(), timeout=60).run(repo, contexts=True)
    assert (report.tests.passed, report.tests.exit_code) == (1, 0), report.tests.output_tail
    assert report.coverage.files.get("pkg/calc.py") == pytest.approx(50.0)


CASES = [
    # (pytest words: addopts then the command's, env, installed, expected)
    ((), {}, True, ("--no-cov",)),
    (("--cov=pkg",), {}, True, ("--no-cov",)),
    ((), {}, False, ()),
    (("-p", "no:cov"), {}, True, ()),
    (("-pno:pytest_cov",), {}, True, ()),
    (("--no-cov",), {}, True, ()),
    ((), {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, True, ()),
    (("-p", "pytest_cov"), {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, True, ("--no-cov",)),
    ((), {"PYTEST_ADDOPTS": "-p no:cov"}, True, ()),
]  # fmt: skip


@pytest.mark.parametrize(("words", "env", "installed", "expected"), CASES)
def test_when_no_cov_is_added(
    words: tuple[str, ...], env: dict[str, str], installed: bool, expected: tuple[str, ...]
) -> None:
    assert coverage_plugin_off(words, env, installed=installed) == expected


def test_the_command_reads_its_configurations_addopts(tmp_path: Path) -> None:
    repo = addopts_project(tmp_path, "-p no:cov")
    command = TestCommand.parse("python -m pytest -q")
    assert "--no-cov" not in command.plugin_args(repo)
