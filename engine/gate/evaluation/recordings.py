"""Behaviour recordings kept by what they depend on: a second candidate for the same
functions on the same base replays the first one's recording instead of recording again.

A recording (:meth:`engine.gate.evaluation.behaviour.BehaviourCheck.record`) is the
changed functions' calls as the base's tests make them: it depends on the base's content,
the test command and the tool versions (all in the baseline's cache key), the functions,
the tests it runs, and ratchet's recorder itself (its source is hashed in). The refine
loop's later attempts, and later proposals for the same goal, mostly change the same
functions of the same base: each such recording costs a sandboxed pytest run on the base
(1.5 s of CPU on marshmallow 4.4) that this skips.

An entry is a directory ``<dir>/<key>/`` with the recorder's ``calls.pkl`` and
``meta.json`` (the test command as resolved on the base, the ids, the untested ids and
the problems), written under a temporary
name and renamed whole. Only complete recordings are stored: one cancelled, timed out or
that recorded nothing is made again next time. At most ``MAX_ENTRIES`` are kept, the
least recently used removed first. The calls file is read only by the sandboxed replay,
as a fresh recording's is; the host reads it as before (the counts).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.gate.evaluation.behaviour import FunctionRef
from engine.gate.evaluation.sandboxed import DIR

MAX_ENTRIES = 16
CALLS = "calls.pkl"
_META = "meta.json"
_RECORDER = ("ratchet_probe.py", "ratchet_replay.py")


def _recorder_digest() -> str:
    digest = hashlib.sha256()
    for name in _RECORDER:
        try:
            digest.update((DIR / name).read_bytes())
        except OSError:
            digest.update(b"missing " + name.encode())
    return digest.hexdigest()


def recording_key(base_key: str, functions: Sequence[FunctionRef], tests: Sequence[str]) -> str:
    """The key of a recording of ``functions`` with ``tests`` on the base ``base_key``
    names (the baseline cache's key of that content)."""
    data = {
        "base": base_key,
        "functions": [[f.id, f.file, f.qualname, f.module, f.sys_path] for f in functions],
        "tests": list(tests),
        "recorder": _recorder_digest(),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Stored:
    """A stored recording's facts (its calls were copied where asked)."""

    command: str  # the test command as resolved on the base
    ids: tuple[str, ...]
    untested: tuple[str, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class RecordingCache:
    dir: Path

    def get(self, key: str, out: Path) -> Stored | None:
        """Copy the recording ``key`` names into ``out`` (``out/calls.pkl``) and say what
        it recorded; None when there is none (or it is unreadable)."""
        entry = self.dir / key
        try:
            meta: dict[str, Any] = json.loads((entry / _META).read_text(encoding="utf-8"))
            stored = Stored(
                command=str(meta["command"]),
                ids=tuple(str(i) for i in meta["ids"]),
                untested=tuple(str(i) for i in meta["untested"]),
                problems=tuple(str(p) for p in meta["problems"]),
            )
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry / CALLS, out / CALLS)
            os.utime(entry)  # recently used
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return stored

    def put(self, key: str, out: Path, stored: Stored) -> None:
        """Keep ``out/calls.pkl`` as the recording ``key`` names; never raises (a cache
        that cannot be written is a cache that misses)."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            part = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.dir))
            shutil.copyfile(out / CALLS, part / CALLS)
            meta = {
                "command": stored.command,
                "ids": stored.ids,
                "untested": stored.untested,
                "problems": stored.problems,
            }
            (part / _META).write_text(json.dumps(meta), encoding="utf-8")
            try:
                part.rename(self.dir / key)
            except OSError:  # another measurement stored it first
                shutil.rmtree(part, ignore_errors=True)
            self._trim()
        except OSError:
            return

    def _trim(self) -> None:
        entries = [p for p in self.dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[MAX_ENTRIES:]:
            shutil.rmtree(stale, ignore_errors=True)
