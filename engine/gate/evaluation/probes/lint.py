"""Lint violations and formatting drift with ruff, run on the host (ruff never executes code).

The repository's own ruff configuration applies (ruff finds it from the checkout), and its
``exclude`` settings hold for the explicitly listed files too (``--force-exclude``).
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
from engine.model import LintMetrics

TOOL = "ruff"
CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml", ".gitignore")


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


def measure_lint(
    root: Path,
    files: Sequence[str],
    timeout: float = STATIC_TIMEOUT,
    *,
    cache: FileCache | None = None,
) -> LintReport:
    """``ruff check`` violations (``by_code``; syntax errors count as ``invalid-syntax``)
    and the number of files ``ruff format --check`` would reformat. No files: zeros.
    ``cache`` changes which files ruff is run on, never the numbers (see :func:`ruff_setup`
    for what an entry depends on besides the file's path and content)."""
    if not files:
        return LintReport()
    setup = ruff_setup(root, files) if cache is not None else ""
    found = lookup(cache, root, files, tool=TOOL, setup=setup, by_path=True)
    problems: list[str] = []
    if found.misses:
        fresh, problems = _run_ruff(root, found.misses, timeout)
        found.record(fresh, keep=not problems)  # a failed run is counted, never stored
    by_code: Counter[str] = Counter()
    unformatted = 0
    for _, result in found.ordered(files):
        by_code.update({str(k): int(v) for k, v in result["codes"].items()})
        unformatted += bool(result["unformatted"])
    metrics = LintMetrics(
        violations=sum(by_code.values()),
        by_code=dict(sorted(by_code.items())),
        unformatted=unformatted,
    )
    return LintReport(metrics=metrics, problems=tuple(problems))


def ruff_setup(root: Path, files: Sequence[str]) -> str:
    """What ruff's answer for one file depends on besides its path and bytes: ruff's
    version, its config files between the root and the file, and the package layout its
    cross-file rules read (directories with ``__init__.py`` for INP001, top-level module
    names for isort's first-party detection with the default ``src = [".", "src"]``)."""
    dirs = sorted({Path(f).parent.as_posix() for f in files})
    inits = [d for d in dirs if (root / d / "__init__.py").is_file()]
    tops = sorted(
        {Path(f).parts[0] for f in files}
        | {Path(f).parts[1] for f in files if f.startswith("src/") and f.count("/") > 1}
    )
    configs = config_digest(root, files, CONFIG_NAMES)
    return json.dumps([metadata.version("ruff"), configs, dirs, inits, tops])


def _run_ruff(
    root: Path, files: Sequence[str], timeout: float
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Per-file ``codes`` and ``unformatted`` for ``files`` from one ``ruff check`` and one
    ``ruff format --check``, and the problems of runs that failed."""
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
    codes: dict[str, Counter[str]] = {rel: Counter() for rel in files}
    for f in findings:
        rel = _relative(root, f.get("filename"))
        codes.setdefault(rel, Counter())[str(f.get("code") or "invalid-syntax")] += 1
    fmt = run_tool([*ruff, "format", "--check", *common, "--", *files], cwd=root, timeout=timeout)
    unformatted = _unformatted(root, fmt.stdout)
    # 1: some files would change; 2 with JSON output: some files do not parse (counted above)
    if fmt.returncode not in (0, 1) and _json_list(fmt.stdout) is None:
        problems.append(f"ruff format failed ({fmt.returncode}): {_tail(fmt.stderr)}")
    results = {
        rel: {"codes": dict(sorted(codes[rel].items())), "unformatted": rel in unformatted}
        for rel in files
    }
    return results, problems


def _relative(root: Path, name: object) -> str:
    path = Path(str(name))
    if not path.is_absolute():
        return path.as_posix()
    for base in (root, root.resolve()):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return os.path.relpath(path, root)


def _unformatted(root: Path, stdout: str) -> set[str]:
    """Files reported as unformatted: JSON diagnostics (recent ruff) or "Would reformat:" lines."""
    findings = _json_list(stdout)
    if findings is not None:
        return {
            _relative(root, f.get("filename")) for f in findings if f.get("code") == "unformatted"
        }
    prefix = "Would reformat:"
    return {
        _relative(root, line[len(prefix) :].strip())
        for line in stdout.splitlines()
        if line.startswith(prefix)
    }


def _json_list(text: str) -> list[dict[str, object]] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else None


def _tail(text: str) -> str:
    return " ".join(text.strip().splitlines()[-3:])[-300:]
