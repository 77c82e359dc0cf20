"""Security findings with bandit, run on the host (bandit parses files, never runs them).

With a :class:`~engine.gate.evaluation.filecache.FileCache`, bandit runs only on the files
whose (path, content) it has not scanned under the same bandit version and pyproject.toml;
bandit's checks are per file, so the totals do not change. Why bandit and not ruff's ``S``
rules: docs/cycle.md ("The security scan").
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.gate.evaluation.filecache import FileCache, config_digest, lookup
from engine.gate.evaluation.probes.host import STATIC_TIMEOUT, run_tool
from engine.model import SecurityMetrics

TOOL = "bandit"


@dataclass(frozen=True, kw_only=True)
class SecurityReport:
    metrics: SecurityMetrics = field(default_factory=SecurityMetrics)
    problems: tuple[str, ...] = ()  # files bandit could not scan, or bandit itself failing


def measure_security(
    root: Path,
    files: Sequence[str],
    timeout: float = STATIC_TIMEOUT,
    *,
    cache: FileCache | None = None,
) -> SecurityReport:
    """Bandit findings over ``files`` (all severities), the HIGH ones, and counts per test id.

    ``# nosec`` comments are honoured, as is a ``[tool.bandit]`` table in the checkout's
    pyproject.toml. No files: zeros. ``cache`` changes which files bandit scans, never the
    numbers.
    """
    if not files:
        return SecurityReport()
    setup = ""
    if cache is not None:
        setup = metadata.version("bandit") + config_digest(root, (), ("pyproject.toml",))
    found = lookup(cache, root, files, tool=TOOL, setup=setup, by_path=True)
    if found.misses:
        fresh = _run_bandit(root, found.misses, timeout)
        if isinstance(fresh, str):
            return SecurityReport(problems=(fresh,))
        # bandit's output names only files with findings or errors: the others are clean
        empty: dict[str, Any] = {"by_test": {}, "high": 0, "errors": []}
        found.record({rel: fresh.get(rel, empty) for rel in found.misses})
    by_test: Counter[str] = Counter()
    high = 0
    problems: list[str] = []
    for rel, result in found.ordered(files):
        by_test.update({str(k): int(v) for k, v in result["by_test"].items()})
        high += int(result["high"])
        problems += [f"{rel}: {reason}" for reason in result["errors"]]
    metrics = SecurityMetrics(
        findings=sum(by_test.values()), high=high, by_test=dict(sorted(by_test.items()))
    )
    return SecurityReport(metrics=metrics, problems=tuple(problems))


def _run_bandit(root: Path, files: Sequence[str], timeout: float) -> dict[str, Any] | str:
    """Per-file ``by_test``/``high``/``errors`` from one bandit run, or why it failed."""
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
        return f"bandit failed ({status}): {detail}"
    out: dict[str, Any] = {}

    def entry(name: object) -> dict[str, Any]:
        rel = Path(os.path.normpath(str(name))).as_posix()
        return out.setdefault(rel, {"by_test": {}, "high": 0, "errors": []})

    for r in data.get("results", []):
        if isinstance(r, dict):
            found = entry(r.get("filename", "?"))
            test = str(r.get("test_id", "?"))
            found["by_test"][test] = found["by_test"].get(test, 0) + 1
            found["high"] += r.get("issue_severity") == "HIGH"
    for e in data.get("errors", []):
        if isinstance(e, dict):
            entry(e.get("filename", "?"))["errors"].append(str(e.get("reason", "?")))
    return out


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
