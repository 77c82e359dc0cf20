"""A test command that collects nothing says so, with the test files pytest passed over and
the command that runs them (real pytest in the sandbox; decorator 5.2.1's layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.evaluation import SandboxRunner
from engine.gate.evaluation.probes.tests import TestsProbe
from engine.gate.evaluation.probes.uncollected import NO_TESTS, passed_over
from tests.repo_helpers import write

TESTS = "import unittest\n\n\nclass T(unittest.TestCase):\n    def test_a(self):\n        pass\n"


@pytest.mark.sandbox  # bubblewrap cannot nest inside ratchet's own sandbox
def test_a_run_that_collects_nothing_names_the_tests_it_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "tests" / "test.py", TESTS)
    write(tmp_path / "tests" / "conftest.py", "")

    report = TestsProbe(runner=SandboxRunner(), timeout=60).run(tmp_path, contexts=True)

    assert report.tests.exit_code == 5, report.tests.output_tail
    assert len(report.problems) == 1, report.problems  # not "coverage: no report" too
    assert report.problems[0].startswith(NO_TESTS)
    assert "set test_command: python -m pytest -q tests/test.py" in report.problems[0]
    named = TestsProbe(
        runner=SandboxRunner(), timeout=60, test_command="python -m pytest -q tests/test.py"
    ).run(tmp_path, contexts=True)
    assert (named.tests.passed, named.tests.exit_code) == (1, 0), named.tests.output_tail


def test_what_counts_as_passed_over(tmp_path: Path) -> None:
    for rel in (
        "tests/test_ok.py",  # collected by default
        "tests/helpers_test.py",
        "tests/conftest.py",
        "tests/__init__.py",
        "tests/test.py",
        "tests/sub/checks.py",
        "test/documentation.py",
        "src/pkg/test.py",  # not a test directory
    ):
        write(tmp_path / rel, "")
    assert passed_over(tmp_path) == [
        "tests/test.py",
        "tests/sub/checks.py",
        "test/documentation.py",
    ]
    write(
        tmp_path / "pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-o python_files=*.py"\n'
    )
    assert passed_over(tmp_path) == []  # the project chose its own patterns
