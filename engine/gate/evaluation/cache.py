"""Baseline metrics cached on disk, one JSON file per key (the caller builds the key).

The key names the *content* measured, not a commit: :func:`measured_tree` hashes every
tracked file's mode, blob id and path except the records (``memory-bank/``,
``snapshots/``), so the commit a merge lands (the candidate amended with its records) has
the candidate's key and reuses its measurement. Beside the metrics: the per-line coverage
and the selection map (file:line -> tests, :mod:`engine.gate.evaluation.selection`),
each in its own file under the same key (the map in a binary form: :func:`map_bytes`)."""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from engine.gate.evaluation.probes.coverage_report import (
    LineCoverage,
    lines_from_json,
    lines_to_json,
)
from engine.gate.evaluation.selection import TestMap, map_from_json
from engine.gate.paths import MEMORY_DIR, SNAPSHOT_DIR
from engine.model import Metrics, metrics_from_data, to_data

TOOLS: tuple[str, ...] = ("coverage", "pytest", "pytest-cov", "radon", "ruff", "bandit")


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


RECORD_DIRS: tuple[str, ...] = (f"{MEMORY_DIR.split('/')[0]}/", f"{SNAPSHOT_DIR}/")


def measured_tree(entries: Sequence[tuple[str, str, str]]) -> str:
    """sha256 over ``(mode, blob id, path)`` of a commit's files (``Repository.ls_tree``),
    the records directories left out: equal for two commits that differ only in records."""
    digest = hashlib.sha256()
    for mode, oid, path in sorted(entries, key=lambda e: e[2]):
        if not path.startswith(RECORD_DIRS):
            digest.update(f"{mode} {oid} {path}\0".encode())
    return digest.hexdigest()


# how a measurement is made, where a change alters the numbers without any tool version
# changing (2: a src layout on the path; 3: the per-line coverage keeps a file's branches,
# the map the lines and arcs run outside tests and each test's arcs; 4: the map each
# test's duration; 5: a project's pytest-cov is switched off, it had emptied the coverage
# data); bumped, every cached baseline is measured again
FORMAT = "5"


def baseline_key(tree: str, test_command: str, **extra: str) -> str:
    """A cache key for the metrics of the content ``tree`` (:func:`measured_tree`) measured
    with ``test_command``, the current tool versions and any ``extra`` settings that change
    the numbers (sandbox mode, ...)."""
    parts = {"tree": tree, "test_command": test_command, "format": FORMAT}
    parts |= {**tool_versions(), **extra}
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
            return lines_from_json(data["lines"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None

    def test_map(self, key: str) -> TestMap | None:
        """The selection map stored with the metrics, or None (a map stored as JSON, before
        the binary form, is still read)."""
        path = self._path(key, ".map", ".bin")
        if path.is_file():
            return read_map_file(path, key)
        return read_map_file(self._path(key, ".map"), key)

    def put(
        self,
        key: str,
        metrics: Metrics,
        lines: LineCoverage | None = None,
        test_map: TestMap | None = None,
    ) -> None:
        """Store atomically (write a temporary file, then rename it into place); ``lines``
        (per-line coverage) is kept beside the metrics, never inside them; ``test_map`` in a
        file of its own (written first, so metrics found imply their map is in place)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if test_map is not None:
            self._write(self._path(key, ".map", ".bin"), map_bytes(key, test_map))
        record: dict[str, object] = {"key": key, "metrics": to_data(metrics)}
        if lines is not None:
            record["lines"] = lines_to_json(lines)
        self._write(self._path(key), json.dumps(record, sort_keys=True).encode())

    def _write(self, path: Path, payload: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _path(self, key: str, kind: str = "", suffix: str = ".json") -> Path:
        return self.dir / f"{hashlib.sha256(key.encode()).hexdigest()}{kind}{suffix}"


# The selection map on disk: ``marshal`` of (MAP_TAG, key, the map's fields). A big
# project's map is megabytes (click 8.5: 7 MB of JSON, 1.27 M test indexes) and every
# candidate reads it before its tests: parsed and checked as JSON 0.13 s, holding the GIL
# throughout; loaded by marshal 0.03 s. Written only by this process from a map already
# checked (never from a sandbox), in ratchet's own state directory; marshal's format is
# that of the Python version, which is part of every key (:func:`tool_versions`).
MAP_TAG = "ratchet-map-1"


def map_bytes(key: str, test_map: TestMap) -> bytes:
    """The stored form of ``test_map`` under ``key`` (:func:`read_map_file` reads it)."""
    fields = (
        tuple(test_map.tests),
        {p: dict(m) for p, m in test_map.lines.items()},
        {p: frozenset(ns) for p, ns in test_map.outside.items()},
        None if test_map.arcs is None else {p: dict(m) for p, m in test_map.arcs.items()},
        {p: frozenset(a) for p, a in test_map.outside_arcs.items()},
        dict(test_map.durations),
    )
    return marshal.dumps((MAP_TAG, key, fields))


def read_map_file(path: Path, key: str | None = None) -> TestMap | None:
    """The map in ``path`` (the binary form, or the JSON one written before it), None when
    absent, unreadable or stored under another key than ``key`` (None: any key)."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".json":
            data = json.loads(raw)
            return map_from_json(data["map"]) if key in (None, data.get("key")) else None
        tag, stored, fields = marshal.loads(raw)
        if tag != MAP_TAG or key not in (None, stored):
            return None
        tests, lines, outside, arcs, outside_arcs, durations = fields
        return TestMap(
            tests=tests, lines=lines, outside=outside, arcs=arcs,
            outside_arcs=outside_arcs, durations=durations,
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError):
        return None
