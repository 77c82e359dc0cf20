"""A coverage plugin the project's configuration loads, not installed here: the broken
baseline says so and what to install (real coverage in the sandbox; pyflakes 3.4.0's
``plugins = covdefaults``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.evaluation import SandboxRunner
from engine.gate.evaluation.probes.coverage_plugins import configured
from engine.gate.evaluation.probes.tests import TestsProbe
from engine.gate.health import broken_baseline
from engine.model import Metrics
from tests.repo_helpers import write

PLUGIN = "ratchet_absent_cov_plugin"  # no such package


@pytest.mark.sandbox  # bubblewrap cannot nest inside ratchet's own sandbox
def test_a_missing_coverage_plugin_is_named_with_what_to_install(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "tests" / "test_a.py", "def test_a():\n    assert True\n")
    write(tmp_path / "setup.cfg", f"[coverage:run]\nplugins = {PLUGIN}\nbranch = true\n")

    report = TestsProbe(runner=SandboxRunner(), timeout=60).run(tmp_path, contexts=True)

    assert report.tests.failures == ("<session>",), report.tests.output_tail
    metrics = Metrics(commit="0" * 40, tests=report.tests, notes=report.problems)
    message = broken_baseline(metrics) or ""
    assert f"{PLUGIN} is a coverage plugin the project's coverage configuration loads" in message
    assert f"setup.cfg [coverage:run]: plugins = {PLUGIN}" in message
    assert message.count(f"pip install {PLUGIN}") == 1


def test_where_coverage_plugins_are_configured(tmp_path: Path) -> None:
    write(tmp_path / ".coveragerc", "[run]\nplugins =\n    a_plugin\n    b.plugin\n")
    write(tmp_path / "tox.ini", "[coverage:run]\nplugins = c, d\n")
    write(tmp_path / "pyproject.toml", '[tool.coverage.run]\nplugins = ["e"]\n')
    assert configured(tmp_path) == [
        (".coveragerc [run]", ["a_plugin", "b.plugin"]),
        ("tox.ini [coverage:run]", ["c", "d"]),
        ("pyproject.toml [tool.coverage.run]", ["e"]),
    ]
