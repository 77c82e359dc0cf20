"""What ``ratchet --help`` and ``ratchet status`` import (the cost of starting; the seconds
are measured by benchmarks/startup.py, not here): read from ``python -X importtime`` of
the real CLI in a child process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.repo_helpers import child_python, make_repo


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter on this checkout with a minimal environment (which must succeed)."""
    done = child_python(*args, minimal_env=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def imported(*args: str) -> set[str]:
    """The modules the CLI imported running ``args`` (which must succeed)."""
    done = python("-X", "importtime", "-m", "engine.cli", *args)
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_help_imports_no_engine_layer_below_the_cli() -> None:
    modules = imported("--help")
    assert "typer" in modules
    assert not {m for m in modules if m.startswith(("engine.model", "engine.gate", "engine.vcs"))}


@pytest.mark.slow
def test_status_skips_the_cel_shell_and_the_guards(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    modules = imported("status", "--repo", str(repo))
    assert {"cel", "engine.config", "engine.records.history"} <= modules  # it did check
    assert not modules & {"cel.cli", "prompt_toolkit", "rich", "engine.gate.guards.registry"}
    # nor the lock library (its flock is probed directly), the providers or an HTTP client
    assert not modules & {"filelock", "engine.providers", "httpx", "libcst", "engine.patching"}


def test_cel_imported_quietly_still_works_and_its_shell_still_imports() -> None:
    code = (
        "import sys, engine.gate.policy as p\n"
        "assert 'cel.cli' not in sys.modules and 'prompt_toolkit' not in sys.modules\n"
        "assert p.compile_expr('candidate.tests.failed == 0').evaluate("
        "{'candidate': {'tests': {'failed': 0}}}) is True\n"
        "import cel.cli\n"
        "print(cel.cli.__file__)\n"
    )
    assert python("-c", code).stdout.strip().endswith("cli.py")
