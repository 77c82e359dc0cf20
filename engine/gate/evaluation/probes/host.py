"""Run a static analysis tool on the host (ruff, bandit): they read candidate files but never
execute them. Same capture/timeout machinery as the sandbox, with a small fixed environment
so that host secrets are not handed to third-party tools either."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.gate.evaluation.process import RunResult, run_captured

STATIC_TIMEOUT = 300.0  # seconds for one static tool run
# The tools answer in JSON on stdout (~0.5 KB per finding): a tail would not parse, so keep
# far more than the sandbox's tail (a repository with 200k ruff findings still fits).
OUTPUT_BYTES = 128 * 1024 * 1024

log = logging.getLogger(__name__)


def host_env() -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
    }


def run_tool(argv: Sequence[str], *, cwd: Path, timeout: float = STATIC_TIMEOUT) -> RunResult:
    """Run a static tool in ``cwd`` with :func:`host_env` and a wall-clock timeout (each run
    logged at DEBUG: the tests count tool runs from these lines)."""
    log.debug("host tool: %s", " ".join(argv[:3]))
    return run_captured(argv, cwd=cwd, env=host_env(), timeout=timeout, tail_bytes=OUTPUT_BYTES)
