"""Read ``coverage json`` output into :class:`CoverageMetrics` (repo-relative file keys), and
its per-file lines (and branches, with ``branch = true``) into :data:`LineCoverage`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

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


Arc = tuple[int, int]  # coverage's (from line, to line); a negative line: a code object's exit


@dataclass(frozen=True)
class Branches:
    """A file's branches as coverage counts them: ``total`` (``num_branches``) and the
    ``missing`` branch arcs; the covered ones are the rest (``total - len(missing)``)."""

    total: int = 0
    missing: frozenset[Arc] = frozenset()

    @property
    def covered(self) -> int:
        return self.total - len(self.missing)


class FileLines(NamedTuple):
    """Executed and missing statement lines of one file; ``branches`` when the report
    counted branches (``branch = true``), else None."""

    executed: frozenset[int]
    missing: frozenset[int]
    branches: Branches | None = None


# path -> the per-line data diff coverage and coverage by reach need
LineCoverage = dict[str, FileLines]


def read_line_coverage(path: Path, root: Path) -> LineCoverage | None:
    """Executed and missing statement lines (and, with branch coverage, the branch facts)
    per file of a ``coverage json`` report; None when the report is missing or malformed."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        branch = bool(data.get("meta", {}).get("branch_coverage"))
        return {
            _relative(name, root): FileLines(
                frozenset(int(n) for n in entry["executed_lines"]),
                frozenset(int(n) for n in entry["missing_lines"]),
                _branches(entry) if branch else None,
            )
            for name, entry in data["files"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _branches(entry: Any) -> Branches:
    total = int(entry["summary"]["num_branches"])
    missing = frozenset(arc_of(a) for a in entry["missing_branches"])
    if not 0 <= len(missing) <= total:
        raise ValueError("more missing branches than branches")
    return Branches(total=total, missing=missing)


def arc_of(value: Any) -> Arc:
    """An arc from JSON (``[from, to]``); ValueError when it is not two integers."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"not an arc: {value!r}")
    a, b = value
    if (
        not isinstance(a, int)
        or not isinstance(b, int)
        or isinstance(a, bool)
        or isinstance(b, bool)
    ):
        raise ValueError(f"not an arc: {value!r}")
    return (a, b)


def lines_to_json(lines: LineCoverage) -> dict[str, list[Any]]:
    """``{path: [executed, missing]}``, with branches ``[executed, missing, total, arcs]``."""
    out: dict[str, list[Any]] = {}
    for path, f in sorted(lines.items()):
        entry: list[Any] = [sorted(f.executed), sorted(f.missing)]
        if f.branches is not None:
            entry += [f.branches.total, [list(a) for a in sorted(f.branches.missing)]]
        out[path] = entry
    return out


def lines_from_json(data: Any) -> LineCoverage:
    """What :func:`lines_to_json` wrote; ValueError (or KeyError, TypeError...) when not."""
    out: LineCoverage = {}
    for path, entry in data.items():
        branches = None
        if len(entry) > 2:
            missing = frozenset(arc_of(a) for a in entry[3])
            branches = Branches(total=int(entry[2]), missing=missing)
        out[str(path)] = FileLines(
            frozenset(map(int, entry[0])), frozenset(map(int, entry[1])), branches
        )
    return out
