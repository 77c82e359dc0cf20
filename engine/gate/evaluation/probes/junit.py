"""Read pytest's JUnit XML into counts and pytest node ids.

The XML is written by candidate code, so it is untrusted: the file size is capped, and the
stdlib parser is used because its expat (>= 2.4.1) refuses entity-expansion bombs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # nosec B405 - see the module docstring
from dataclasses import dataclass
from pathlib import Path

MAX_JUNIT_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class JunitSummary:
    """One entry per ``<testcase>``; a case with both a failure and an error is a failure."""

    passed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    xfailed: tuple[str, ...] = ()

    @property
    def collected(self) -> int:
        return sum(map(len, (self.passed, self.failed, self.errors, self.skipped, self.xfailed)))


def read_junit(path: Path, root: Path) -> JunitSummary | None:
    """The summary of the JUnit file at ``path`` (node ids relative to ``root``);
    None when the file is missing, too large or not valid XML."""
    try:
        if path.stat().st_size > MAX_JUNIT_BYTES:
            return None
        tree = ET.parse(path)  # nosec B314 - see the module docstring
    except (OSError, ET.ParseError):
        return None
    kinds: dict[str, list[str]] = {
        k: [] for k in ("passed", "failed", "errors", "skipped", "xfailed")
    }
    for case in tree.getroot().iter("testcase"):
        node = node_id(case.get("classname", ""), case.get("name", ""), root)
        kinds[_kind(case)].append(node)
    return JunitSummary(**{k: tuple(v) for k, v in kinds.items()})


def _kind(case: ET.Element) -> str:
    if case.find("failure") is not None:
        return "failed"
    if case.find("error") is not None:
        return "errors"
    skipped = case.find("skipped")
    if skipped is not None:
        return "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
    return "passed"


def node_id(classname: str, name: str, root: Path) -> str:
    """Turn JUnit's ``classname``/``name`` back into a pytest node id.

    ``tests.test_mod.TestC`` + ``test_b`` -> ``tests/test_mod.py::TestC::test_b`` when
    ``root/tests/test_mod.py`` exists (the longest dotted prefix that is a file wins). A
    collection error (empty classname, dotted module as name) -> ``tests/test_mod.py``.
    When no prefix is a file, ``classname::name`` is returned as is.
    """
    if not classname:
        parts, tail = name.split("."), []
    else:
        parts, tail = classname.split("."), [name]
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut]) + ".py"
        if (root / module).is_file():
            return "::".join([module, *parts[cut:], *tail])
    return f"{classname}::{name}" if classname else name
