"""Per-file static results (radon, ruff, bandit) cached by git blob id.

A static probe's totals are sums over files, so a probe only has to run its tool on the
files whose result it has not seen: the others come from here. An entry is keyed by

- the tool, its version and a *setup* string (the configuration that changes its output,
  built by the probe: ruff's config files and package layout, bandit's pyproject);
- the file's git blob id (``sha1("blob <size>\\0" + bytes)``, computed from the bytes on
  disk, so it is the same in any checkout and needs no git);
- for tools whose result depends on where the file is (ruff's per-file-ignores and
  excludes, bandit's excludes), the repository-relative path.

So identical content at the same path (for radon: anywhere) is never measured twice: the
baseline's files are measured once, a candidate pays only for the files it changed, and
the commit a merge lands is made of blobs already seen. Totals are then re-added from the
per-file entries in file order, which makes them equal to a full measurement bit for bit
(even the floating-point means), which "baseline − old + new" arithmetic would not.

Each tool's entries are one JSON file ``dir/<tool>.json``, replaced atomically, so a
concurrent measurement never sees half a file; an unreadable file is an empty cache.
Results of a tool run that failed are never stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def blob_id(data: bytes) -> str:
    """The id git gives a blob with these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class FileCache:
    """One directory, one JSON file per tool mapping entry keys to results; see the module
    doc. One file rather than one per entry: a measurement reads each tool's results once
    (a few milliseconds for thousands of files) instead of opening a file per file."""

    dir: Path

    def load(self, tool: str) -> dict[str, dict[str, Any]]:
        """Every stored result of ``tool`` (empty when none or unreadable)."""
        try:
            data = json.loads(self._path(tool).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)}

    def add(self, tool: str, entries: dict[str, dict[str, Any]]) -> None:
        """Merge ``entries`` into the stored ones: re-read, update, write a temporary file and
        rename it into place. Re-read rather than reuse the lookup's copy: the tool ran in
        between (seconds), and entries another measurement added meanwhile are kept. Two
        measurements adding at once may still lose one side's new entries (they are
        measured again next time), never corrupt the file."""
        if not entries:
            return
        merged = {**self.load(tool), **entries}
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(merged, sort_keys=True, separators=(",", ":")))
            os.replace(tmp, self._path(tool))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def entries(self, tool: str) -> int:
        """How many results of ``tool`` are stored."""
        return len(self.load(tool))

    def _path(self, tool: str) -> Path:
        return self.dir / f"{tool}.json"


@dataclass(kw_only=True)
class Lookup:
    """The per-file results of one probe run: ``results`` found in the cache, ``misses`` to
    measure (in the order given), and the key of each file for :meth:`record`."""

    tool: str
    cache: FileCache | None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def record(self, measured: Mapping[str, dict[str, Any]], *, keep: bool = True) -> None:
        """Take the result of every miss from ``measured`` and add them to the cache in one
        write; ``keep=False`` (the tool run failed): count them, never store them."""
        fresh: dict[str, dict[str, Any]] = {}
        for rel in self.misses:
            self.results[rel] = measured[rel]
            if keep and rel in self.keys:
                fresh[self.keys[rel]] = measured[rel]
        if self.cache is not None:
            self.cache.add(self.tool, fresh)

    def ordered(self, files: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        """``(path, result)`` in the order of ``files``, for files that have a result."""
        return [(rel, self.results[rel]) for rel in files if rel in self.results]


def lookup(
    cache: FileCache | None,
    root: Path,
    files: Sequence[str],
    *,
    tool: str,
    setup: str,
    by_path: bool,
) -> Lookup:
    """Split ``files`` into cached results and misses. No cache: everything is a miss.
    A file that cannot be read is a miss (the tool reports it)."""
    found = Lookup(tool=tool, cache=cache)
    known = cache.load(tool) if cache is not None else {}
    for rel in files:
        if cache is None:
            found.misses.append(rel)
            continue
        try:
            blob = blob_id((root / rel).read_bytes())
        except OSError:
            found.misses.append(rel)
            continue
        parts = [tool, setup, blob, rel if by_path else ""]
        key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
        found.keys[rel] = key
        hit = known.get(key)
        if hit is None:
            found.misses.append(rel)
        else:
            found.results[rel] = hit
    if cache is not None:
        log.info(
            "%s: %d of %d file(s) from the cache, %d to measure",
            tool, len(files) - len(found.misses), len(files), len(found.misses),
        )  # fmt: skip
    return found


def config_digest(root: Path, files: Sequence[str], names: Sequence[str]) -> str:
    """A digest of every file called one of ``names`` in ``root`` or in a directory between
    ``root`` and one of ``files`` (where hierarchical tool configs live)."""
    dirs: set[Path] = {Path(".")}
    for rel in files:
        dirs.update(Path(rel).parents)
    digest = hashlib.sha256()
    for folder in sorted(dirs):
        for name in names:
            path = root / folder / name
            if path.is_file():
                digest.update(f"{(folder / name).as_posix()}\0".encode())
                digest.update(blob_id(path.read_bytes()).encode())
    return digest.hexdigest()
