"""Lint violations and formatting drift with ruff, run on the host (ruff never executes code).

The repository's own ruff configuration applies (ruff finds it from the checkout), and its
``exclude`` settings hold for the explicitly listed files too (``--force-exclude``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.gate.evaluation.probes.host import STATIC_TIMEOUT, run_tool
from engine.model import LintMetrics


@dataclass(frozen=True, kw_only=True)
class LintReport:
    metrics: LintMetrics = field(default_factory=LintMetrics)
    problems: tuple[str, ...] = ()  # ruff could not run or its output was unreadable


def ruff_command() -> list[str]:
    """The ruff binary shipped with the ``ruff`` package, else ``python -m ruff``."""
    try:
        from ruff.__main__ import find_ruff_bin

        return [str(find_ruff_bin())]
    except (ImportError, FileNotFoundError):
        return [sys.executable, "-I", "-m", "ruff"]  # -I: never import from the checkout


def measure_lint(root: Path, files: Sequence[str], timeout: float = STATIC_TIMEOUT) -> LintReport:
    """``ruff check`` violations (``by_code``; syntax errors count as ``invalid-syntax``)
    and the number of files ``ruff format --check`` would reformat. No files: zeros."""
    if not files:
        return LintReport()
    ruff = ruff_command()
    common = ["--no-cache", "--force-exclude", "--output-format", "json"]
    problems: list[str] = []
    check = run_tool(
        [*ruff, "check", "--exit-zero", *common, "--", *files], cwd=root, timeout=timeout
    )
    findings = _json_list(check.stdout)
    if findings is None or check.returncode != 0:
        problems.append(f"ruff check failed ({check.returncode}): {_tail(check.stderr)}")
        findings = findings or []
    by_code = Counter(str(f.get("code") or "invalid-syntax") for f in findings)
    fmt = run_tool([*ruff, "format", "--check", *common, "--", *files], cwd=root, timeout=timeout)
    unformatted = _unformatted(fmt.stdout)
    # 1: some files would change; 2 with JSON output: some files do not parse (counted above)
    if fmt.returncode not in (0, 1) and _json_list(fmt.stdout) is None:
        problems.append(f"ruff format failed ({fmt.returncode}): {_tail(fmt.stderr)}")
    metrics = LintMetrics(
        violations=sum(by_code.values()),
        by_code=dict(sorted(by_code.items())),
        unformatted=unformatted,
    )
    return LintReport(metrics=metrics, problems=tuple(problems))


def _unformatted(stdout: str) -> int:
    """Files reported as unformatted: JSON diagnostics (recent ruff) or "Would reformat:" lines."""
    findings = _json_list(stdout)
    if findings is not None:
        return len({f.get("filename") for f in findings if f.get("code") == "unformatted"})
    return sum(1 for line in stdout.splitlines() if line.startswith("Would reformat:"))


def _json_list(text: str) -> list[dict[str, object]] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else None


def _tail(text: str) -> str:
    return " ".join(text.strip().splitlines()[-3:])[-300:]
