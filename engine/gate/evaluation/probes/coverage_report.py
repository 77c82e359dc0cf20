"""Read ``coverage json`` output into :class:`CoverageMetrics` (repo-relative file keys)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.model import CoverageMetrics


def read_coverage_json(path: Path, root: Path) -> CoverageMetrics | None:
    """``totals.percent_covered`` and friends; None when the report is missing or malformed."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        totals = data["totals"]
        files = {
            _relative(name, root): float(entry["summary"]["percent_covered"])
            for name, entry in data.get("files", {}).items()
        }
        return CoverageMetrics(
            percent=float(totals["percent_covered"]),
            covered_lines=int(totals["covered_lines"]),
            num_statements=int(totals["num_statements"]),
            files=dict(sorted(files.items())),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _relative(name: str, root: Path) -> str:
    """coverage reports paths under the working directory relatively; make sure of it."""
    if os.path.isabs(name):
        try:
            return Path(name).relative_to(root).as_posix()
        except ValueError:
            return Path(name).as_posix()
    return Path(name).as_posix()


# path -> (executed lines, missing lines): the per-line data diff coverage needs
LineCoverage = dict[str, tuple[frozenset[int], frozenset[int]]]


def read_line_coverage(path: Path, root: Path) -> LineCoverage | None:
    """Executed and missing statement lines per file of a ``coverage json`` report; None when
    the report is missing or malformed."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return {
            _relative(name, root): (
                frozenset(int(n) for n in entry["executed_lines"]),
                frozenset(int(n) for n in entry["missing_lines"]),
            )
            for name, entry in data["files"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
