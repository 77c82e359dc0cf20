"""Which tests cover a change: the selection map of a baseline and the tests it selects.

The map comes from the baseline's full run under coverage with one dynamic context per
test (the sandboxed ``ratchet_contexts`` plugin switches coverage's context to the pytest
node id around each test; its script mode reads ``CoverageData.contexts_by_lineno`` into
the JSON read here). It says, per source file and line, which tests executed it. Lines run
outside any test (imports at collection time, module-level code) belong to no test.

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
from typing import Any

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.paths import is_test_file

MAX_NODE_IDS = 2000  # more selected tests than this: name their files instead


@dataclass(frozen=True, kw_only=True)
class TestMap:
    """``tests``: pytest node ids; ``lines``: path -> line -> indexes into ``tests``."""

    __test__ = False  # not a pytest class

    tests: tuple[str, ...] = ()
    lines: Mapping[str, Mapping[int, tuple[int, ...]]] = field(default_factory=dict)

    def covering(self, path: str, lines: set[int]) -> set[str]:
        """Node ids of the tests that executed any of ``lines`` of ``path``."""
        by_line = self.lines.get(path, {})
        return {self.tests[i] for n in lines for i in by_line.get(n, ())}

    def to_json(self) -> dict[str, Any]:
        return {
            "tests": list(self.tests),
            "lines": {
                p: {str(n): list(ix) for n, ix in sorted(m.items())}
                for p, m in sorted(self.lines.items())
            },
        }


def map_from_json(data: Any) -> TestMap | None:
    """The map stored by :meth:`TestMap.to_json` (or written by the sandboxed script); None
    when malformed. Contexts that are not node ids (no ``::``) are dropped."""
    try:
        tests = [str(t) for t in data["tests"]]
        raw = {
            str(path): {int(n): [int(i) for i in ix] for n, ix in by_line.items()}
            for path, by_line in data["lines"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if any(not 0 <= i < len(tests) for m in raw.values() for ix in m.values() for i in ix):
        return None
    keep = {i for i, t in enumerate(tests) if "::" in t}
    lines = {
        path: {n: tuple(i for i in ix if i in keep) for n, ix in by_line.items()}
        for path, by_line in raw.items()
    }
    return TestMap(tests=tuple(tests), lines=lines)


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
    ids = {i for i in ids if i.split("::", 1)[0] not in files}
    if len(ids) > MAX_NODE_IDS:
        files |= {i.split("::", 1)[0] for i in ids}
        ids = set()
    return tuple(sorted(files)) + tuple(sorted(ids))


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
