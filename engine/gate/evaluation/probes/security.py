"""Security findings with bandit, run on the host (bandit parses files, never runs them)."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.gate.evaluation.probes.host import STATIC_TIMEOUT, run_tool
from engine.model import SecurityMetrics


@dataclass(frozen=True, kw_only=True)
class SecurityReport:
    metrics: SecurityMetrics = field(default_factory=SecurityMetrics)
    problems: tuple[str, ...] = ()  # files bandit could not scan, or bandit itself failing


def measure_security(
    root: Path, files: Sequence[str], timeout: float = STATIC_TIMEOUT
) -> SecurityReport:
    """Bandit findings over ``files`` (all severities), the HIGH ones, and counts per test id.

    ``# nosec`` comments are honoured, as is a ``[tool.bandit]`` table in the checkout's
    pyproject.toml. No files: zeros.
    """
    if not files:
        return SecurityReport()
    # -I: `python -m` would put the checkout first on sys.path, and a candidate file named
    # bandit.py there would then run on the host, outside the sandbox.
    argv = [sys.executable, "-I", "-m", "bandit", "-r", "-f", "json", "-q"]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.bandit" in pyproject.read_text(errors="replace"):
        argv += ["-c", "pyproject.toml"]
    result = run_tool([*argv, "--", *files], cwd=root, timeout=timeout)
    data = _json_object(result.stdout)
    if data is None:
        detail = " ".join(result.stderr.strip().splitlines()[-3:])[-300:]
        status = "timed out" if result.timed_out else f"exit {result.returncode}"
        return SecurityReport(problems=(f"bandit failed ({status}): {detail}",))
    results = [r for r in data.get("results", []) if isinstance(r, dict)]
    by_test = Counter(str(r.get("test_id", "?")) for r in results)
    metrics = SecurityMetrics(
        findings=len(results),
        high=sum(1 for r in results if r.get("issue_severity") == "HIGH"),
        by_test=dict(sorted(by_test.items())),
    )
    problems = tuple(
        f"{os.path.normpath(str(e.get('filename', '?')))}: {e.get('reason', '?')}"
        for e in data.get("errors", [])
        if isinstance(e, dict)
    )
    return SecurityReport(metrics=metrics, problems=problems)


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON report; bandit may print log lines before it, so start at the first '{'."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(text[start:])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
