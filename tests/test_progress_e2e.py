"""The live progress line of a real ``ratchet run-once`` on a terminal (a pty, a real child
process). The plain-lines and ``--quiet`` cases run in test_cycle_e2e, on its cycles."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.repo_helpers import FLAT_CLASSIFY, ROOT, git, make_repo, plan_file

pytestmark = pytest.mark.slow


def _run_on_a_pty(argv: list[str], timeout: float = 300) -> tuple[int, str]:
    """Run ``argv`` with stdin, stdout and stderr on a new pty; (exit code, all output)."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def test_a_terminal_gets_one_live_line_that_is_erased_before_the_result(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    argv = [sys.executable, "-m", "engine.cli", "run-once", "--repo", str(repo)]
    code, out = _run_on_a_pty([*argv, "--goal", "simplify", "--plan", str(plan)])
    assert code == 0, out
    assert "MERGED" in out, out
    progress, _, result = out.rpartition("[simplify] attempt 1: MERGED")
    # redrawn in place: carriage returns, no newline between the progress states
    assert "\r" in progress and "\n" not in progress.strip(), progress
    for state in ("ratchet: [simplify] baseline.tests", "ratchet: [simplify] tests"):
        assert state in progress, progress
    assert "100%" in progress  # pytest's progress column, read while the tests ran
    assert progress.endswith("\r")  # erased: the result starts on a clean line
    assert "ratchet: [" not in result
    assert git(repo, "rev-parse", "main") != git(repo, "rev-parse", "main^")
