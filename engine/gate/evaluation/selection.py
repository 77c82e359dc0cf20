"""Which tests cover a change: the selection map of a baseline and the tests it selects.

The map comes from the baseline's full run under coverage with one dynamic context per
test (the sandboxed ``ratchet_contexts`` plugin switches coverage's context to the pytest
node id around each test; its script mode reads ``CoverageData.contexts_by_lineno`` into
the JSON read here). It says, per source file and line, which tests executed it. Lines run
outside any test (imports at collection time, module-level code, a function a test module
calls as it is imported) belong to no test: the map lists them apart (``outside``). With
branch coverage it says the same of each branch arc.

:func:`select_tests` turns a candidate's changes into the tests to run first (the
cascade's second stage, :mod:`engine.gate.evaluation.evaluator`):

- a changed or deleted source file: the tests that executed any baseline line the diff
  replaced or deleted, and the lines on either side of an insertion;
- a changed or added test file (not ``conftest.py``): the file itself.

Selected tests may only reject a candidate; an empty selection skips the stage. Pure
except :func:`read_test_map` (reads untrusted JSON written inside the sandbox).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.probes.coverage_report import Arc, arc_of
from engine.gate.paths import is_test_file

MAX_NODE_IDS = 2000  # more selected tests than this: name their files instead
K = TypeVar("K", int, tuple[int, int])


@dataclass(frozen=True, kw_only=True)
class TestMap:
    """``tests``: pytest node ids; ``lines``: path -> line -> indexes into ``tests``;
    ``outside``: path -> lines that ran outside any test (import or collection time, or
    under a context that is not a node id); with branch coverage, ``arcs``: path -> branch
    arc -> indexes into ``tests`` (the arcs coverage counts as branches, not marked
    ``no branch``), and ``outside_arcs`` like ``outside``. ``arcs`` None: not recorded (the
    run measured lines only). ``durations``: node id -> seconds the test took in that run
    (every test it ran; empty when not recorded)."""

    __test__ = False  # not a pytest class

    tests: tuple[str, ...] = ()
    lines: Mapping[str, Mapping[int, tuple[int, ...]]] = field(default_factory=dict)
    outside: Mapping[str, frozenset[int]] = field(default_factory=dict)
    arcs: Mapping[str, Mapping[Arc, tuple[int, ...]]] | None = None
    outside_arcs: Mapping[str, frozenset[Arc]] = field(default_factory=dict)
    durations: Mapping[str, float] = field(default_factory=dict)

    def covering(self, path: str, lines: set[int]) -> set[str]:
        """Node ids of the tests that executed any of ``lines`` of ``path``."""
        by_line = self.lines.get(path, {})
        return {self.tests[i] for n in lines for i in by_line.get(n, ())}

    def ran_outside(self, path: str) -> frozenset[int]:
        """Lines of ``path`` that ran outside any test (or under no test this map names)."""
        alone = {n for n, ix in self.lines.get(path, {}).items() if not ix}
        return self.outside.get(path, frozenset()) | alone

    def branch_arcs(self, path: str) -> frozenset[Arc]:
        """Every branch arc of ``path`` that ran (in a test or outside)."""
        return frozenset((self.arcs or {}).get(path, {})) | self.outside_arcs.get(path, frozenset())

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tests": list(self.tests),
            "lines": {
                p: {str(n): list(ix) for n, ix in sorted(m.items())}
                for p, m in sorted(self.lines.items())
            },
            "outside": {p: sorted(ns) for p, ns in sorted(self.outside.items()) if ns},
        }
        if self.arcs is not None:
            data["arcs"] = {
                p: [[a, b, list(ix)] for (a, b), ix in sorted(m.items())]
                for p, m in sorted(self.arcs.items())
            }
            data["outside_arcs"] = {
                p: [list(arc) for arc in sorted(arcs)]
                for p, arcs in sorted(self.outside_arcs.items())
                if arcs
            }
        if self.durations:
            data["durations"] = dict(sorted(self.durations.items()))
        return data


def map_from_json(data: Any) -> TestMap | None:
    """The map stored by :meth:`TestMap.to_json` (or written by the sandboxed script); None
    when malformed. Contexts that are not node ids (no ``::``) are dropped: what ran under
    them ran outside any test the map names. A map without ``outside`` (written before it
    was recorded) reads as nothing outside; one without ``arcs`` as arcs not recorded."""
    try:
        tests = [str(t) for t in data["tests"]]
        count = len(tests)
        raw = {
            str(path): {int(n): _indexes(ix, count) for n, ix in by_line.items()}
            for path, by_line in data["lines"].items()
        }
        outside = {
            str(path): {_line(n) for n in ns} for path, ns in data.get("outside", {}).items()
        }
        raw_arcs = None
        outside_arcs: dict[str, set[Arc]] = {}
        if "arcs" in data:
            raw_arcs = {
                str(path): {arc_of(entry[:2]): _indexes(entry[2], count) for entry in entries}
                for path, entries in data["arcs"].items()
            }
            outside_arcs = {
                str(path): {arc_of(a) for a in arcs}
                for path, arcs in data.get("outside_arcs", {}).items()
            }
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None
    dropped = {i for i, t in enumerate(tests) if "::" not in t}
    lines = {
        path: _kept(by_line, dropped, outside.setdefault(path, set()))
        for path, by_line in raw.items()
    }
    arcs = None
    if raw_arcs is not None:
        arcs = {
            path: _kept(by_arc, dropped, outside_arcs.setdefault(path, set()))
            for path, by_arc in raw_arcs.items()
        }
    return TestMap(
        tests=tuple(tests),
        lines=lines,
        outside={p: frozenset(ns) for p, ns in outside.items() if ns},
        arcs=arcs,
        outside_arcs={p: frozenset(a) for p, a in outside_arcs.items() if a},
        durations=_durations(data.get("durations")),
    )


def _durations(value: Any) -> dict[str, float]:
    """Node id -> seconds; nothing when malformed (the map stays usable without them)."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, float] = {}
    for test, seconds in value.items():
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            return {}
        if not 0 <= seconds < float("inf"):
            return {}
        out[str(test)] = float(seconds)
    return out


def _indexes(value: Any, count: int) -> list[int]:
    """``value`` if it is a list of indexes into ``count`` tests; else ValueError/TypeError.
    Checked with C-level passes (``map``, ``min``, ``max``): a big project's map holds over
    a million of them (click 8.5: 1.27 M; per-element Python checks took 0.3 s of every
    candidate's start, before its tests)."""
    if not isinstance(value, list):
        raise TypeError("indexes must be a list")
    if value and (set(map(type, value)) != {int} or min(value) < 0 or max(value) >= count):
        raise ValueError("an index that names no test")
    return value


def _kept(
    by_key: dict[K, list[int]], dropped: set[int], outside: set[K]
) -> dict[K, tuple[int, ...]]:
    """The entries' indexes of named tests (an entry without any stays, as written): those
    not in ``dropped``; a key a dropped context ran goes to ``outside`` too."""
    out: dict[K, tuple[int, ...]] = {}
    for key, ix in by_key.items():
        if dropped.isdisjoint(ix):
            out[key] = tuple(ix)
            continue
        outside.add(key)
        named = tuple(i for i in ix if i not in dropped)
        if named:
            out[key] = named
    return out


def _line(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"not a line number: {value!r}")
    return value


def read_test_map(path: Path) -> TestMap | None:
    """The map in a JSON file; None when missing or malformed."""
    try:
        return map_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def select_tests(changes: Sequence[FileChange], test_map: TestMap | None) -> tuple[str, ...]:
    """The pytest arguments (node ids, test files) that exercise ``changes`` (module doc);
    () when there is no map or nothing the map knows is touched."""
    if test_map is None:
        return ()
    ids: set[str] = set()
    files: set[str] = set()
    for change in changes:
        if is_test_file(change.path):
            name = Path(change.path).name
            if change.new is not None and change.path.endswith(".py") and name != "conftest.py":
                files.add(change.path)
            continue
        if not change.old_path.endswith(".py") or change.old is None:
            continue
        touched = touched_lines(change.old, change.new)
        ids |= test_map.covering(change.old_path, touched)
    ids, by_path = by_their_path(ids, changes)
    files |= by_path
    if len(ids) > MAX_NODE_IDS:
        files |= {i.split("::", 1)[0] for i in ids}
        ids = set()
    return tuple(sorted(files)) + tuple(sorted(ids))


def by_their_path(ids: set[str], changes: Sequence[FileChange]) -> tuple[set[str], set[str]]:
    """``ids`` less the tests of the files ``changes`` touch, and those files' paths to run
    instead (a deleted file's tests: nowhere). A changed file's node ids may not survive
    the change — a test renamed, a module's doctest whose docstring was edited or removed —
    and pytest fails the whole run on one it cannot find."""
    now: dict[str, str | None] = {}
    for change in changes:
        for path in (change.old_path, change.path):
            now[path] = change.path if change.new is not None else None
    own = {i for i in ids if i.split("::", 1)[0] in now}
    paths = {now[i.split("::", 1)[0]] for i in own}
    return ids - own, {p for p in paths if p is not None}


def touched_lines(old: str, new: str | None) -> set[int]:
    """Baseline lines (1-based) the change replaces or deletes, plus the neighbours of each
    insertion; every line when the file is deleted."""
    old_lines = old.splitlines()
    if new is None:
        return set(range(1, len(old_lines) + 1))
    matcher = difflib.SequenceMatcher(None, old_lines, new.splitlines(), autojunk=False)
    out: set[int] = set()
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # insertion before old line i1 + 1
            out |= {i1, i1 + 1}
        else:
            out |= set(range(i1 + 1, i2 + 1))
    return {n for n in out if 1 <= n <= len(old_lines)}
