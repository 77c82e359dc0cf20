"""Behaviour recordings kept by base content, functions and tests (real files)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from engine.gate.evaluation import recordings
from engine.gate.evaluation.behaviour import FunctionRef, Recording
from engine.gate.evaluation.recordings import CALLS, RecordingCache, Stored, recording_key
from engine.gate.recording import complete
from engine.model import BehaviourMetrics

BUCKET = FunctionRef(
    id="calc/b.py::bucket", file="calc/b.py", qualname="bucket", module="calc.b", sys_path=""
)
STORED = Stored("python -m pytest -q", (BUCKET.id,), (), ("a call could not be pickled",))


def recorded(tmp: Path, data: bytes = b"calls") -> Path:
    out = tmp / "out"
    out.mkdir(parents=True)
    (out / CALLS).write_bytes(data)
    return out


def test_a_stored_recording_comes_back_whole(tmp_path: Path) -> None:
    cache = RecordingCache(tmp_path / "cache")
    key = recording_key("base", [BUCKET], ["tests/t.py::test_b"])
    assert cache.get(key, tmp_path / "a") is None
    cache.put(key, recorded(tmp_path / "made"), STORED)
    assert cache.get(key, tmp_path / "a") == STORED
    assert (tmp_path / "a" / CALLS).read_bytes() == b"calls"


def test_the_key_changes_with_what_the_recording_depends_on() -> None:
    key = recording_key("base", [BUCKET], ["t::a"])
    other = FunctionRef(id="calc/b.py::f", file="calc/b.py", qualname="f", module="calc.b",
                        sys_path="")  # fmt: skip
    assert len({
        key,
        recording_key("other base", [BUCKET], ["t::a"]),
        recording_key("base", [BUCKET, other], ["t::a"]),
        recording_key("base", [BUCKET], ["t::a", "t::b"]),
    }) == 4  # fmt: skip
    assert recording_key("base", [BUCKET], ["t::a"]) == key


def test_the_recorders_source_is_in_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = recording_key("base", [BUCKET], ["t::a"])
    fake = tmp_path / "sandboxed"
    fake.mkdir()
    for name in ("ratchet_probe.py", "ratchet_replay.py"):
        (fake / name).write_text("changed")
    monkeypatch.setattr(recordings, "DIR", fake)
    assert recording_key("base", [BUCKET], ["t::a"]) != key


def test_only_the_most_recently_used_are_kept(tmp_path: Path) -> None:
    cache = RecordingCache(tmp_path / "cache")
    out = recorded(tmp_path / "made")
    keys = [recording_key(f"base {i}", [BUCKET], []) for i in range(recordings.MAX_ENTRIES + 3)]
    for i, key in enumerate(keys):
        cache.put(key, out, STORED)
        os.utime(cache.dir / key, (1000 + i, 1000 + i))
    kept = sorted(p.name for p in cache.dir.iterdir())
    assert len(kept) == recordings.MAX_ENTRIES
    assert keys[0] not in kept and keys[-1] in kept


def test_a_recording_cut_short_or_empty_is_not_kept(tmp_path: Path) -> None:
    def made(problems: tuple[str, ...] = (), nothing: bool = False) -> Recording:
        done = BehaviourMetrics() if nothing else None
        return Recording(tmp=tmp_path, functions=(BUCKET,), ids=(BUCKET.id,),
                         problems=problems, done=done)  # fmt: skip

    going, stopped = threading.Event(), threading.Event()
    stopped.set()
    assert complete(made(("a call could not be pickled",)), going)
    assert not complete(made(("the recording run timed out",)), going)
    assert not complete(made(("the recording run was cancelled",)), going)
    assert not complete(made(nothing=True), going)
    assert not complete(made(), stopped)


def test_an_unreadable_entry_is_a_miss(tmp_path: Path) -> None:
    cache = RecordingCache(tmp_path / "cache")
    key = recording_key("base", [BUCKET], [])
    cache.put(key, recorded(tmp_path / "made"), STORED)
    (cache.dir / key / "meta.json").write_text("{")
    assert cache.get(key, tmp_path / "a") is None
