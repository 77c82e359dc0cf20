"""Baseline metrics cached on disk, one JSON file per key (the caller builds the key)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from engine.gate.evaluation.probes.coverage_report import LineCoverage
from engine.model import Metrics, metrics_from_data, to_data

TOOLS: tuple[str, ...] = ("coverage", "pytest", "radon", "ruff", "bandit")


@functools.cache
def tool_versions() -> dict[str, str]:
    """Versions of the measuring tools (and Python): part of any honest cache key."""
    versions = {"python": sys.version.split()[0]}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            versions[tool] = "absent"
    return versions


def baseline_key(commit: str, test_command: str, **extra: str) -> str:
    """A cache key for the metrics of ``commit`` measured with ``test_command``, the current
    tool versions and any ``extra`` settings that change the numbers (sandbox mode, ...)."""
    parts = {"commit": commit, "test_command": test_command, **tool_versions(), **extra}
    return json.dumps(parts, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class BaselineCache:
    """``dir/<sha256(key)>.json`` holding ``{"key": key, "metrics": {...}}``."""

    dir: Path

    def get(self, key: str) -> Metrics | None:
        """The stored metrics, or None when absent, unreadable or stored under another key."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            if data.get("key") != key:
                return None
            return metrics_from_data(data["metrics"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def lines(self, key: str) -> LineCoverage | None:
        """The per-line coverage stored with the metrics, or None."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            if data.get("key") != key or data.get("lines") is None:
                return None
            return {
                str(path): (frozenset(map(int, pair[0])), frozenset(map(int, pair[1])))
                for path, pair in data["lines"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None

    def put(self, key: str, metrics: Metrics, lines: LineCoverage | None = None) -> None:
        """Store atomically (write a temporary file, then rename it into place); ``lines``
        (per-line coverage) is kept beside the metrics, never inside them."""
        self.dir.mkdir(parents=True, exist_ok=True)
        record: dict[str, object] = {"key": key, "metrics": to_data(metrics)}
        if lines is not None:
            record["lines"] = {p: [sorted(e), sorted(m)] for p, (e, m) in sorted(lines.items())}
        payload = json.dumps(record, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, self._path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _path(self, key: str) -> Path:
        return self.dir / f"{hashlib.sha256(key.encode()).hexdigest()}.json"
