"""What ``ratchet --help`` and ``ratchet status`` import (the cost of starting; the seconds
are measured by benchmarks/startup.py, not here): read from ``python -X importtime`` of
the real CLI in a child process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.import_graph import ROOT
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


def test_status_runs_three_git_processes(tmp_path: Path) -> None:
    # open the repository; list its branches and ratchet's refs once; HEAD's snapshots/
    repo = make_repo(tmp_path / "repo")
    log = tmp_path / "git.log"
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    real = shutil.which("git")
    shim.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "status", "--repo", str(repo)],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "configuration: ok" in done.stdout
    assert [_subcommand(line) for line in log.read_text().splitlines()] == [
        "rev-parse",
        "for-each-ref",
        "ls-tree",
    ], log.read_text()


def _subcommand(argv: str) -> str:
    """``-c k=v -c k=v rev-parse ...`` -> ``rev-parse`` (the safety options skipped)."""
    words = iter(argv.split())
    for word in words:
        if word == "-c":
            next(words)
        elif not word.startswith("-"):
            return word
    return ""
