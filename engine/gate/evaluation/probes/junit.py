"""Read pytest's JUnit XML into counts and pytest node ids.

The XML is written by candidate code, so it is untrusted: the file size is capped, and the
stdlib parser is used because its expat (>= 2.4.1) refuses entity-expansion bombs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # nosec B405 - see the module docstring
from dataclasses import dataclass, field
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
    # (node id, error line) of failed/errored cases, in file order: the human-readable cause
    causes: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # cases ratchet added to the run (doctests of touched modules), whatever their outcome;
    # only their failures and errors are in the lists above
    added: tuple[str, ...] = ()

    @property
    def collected(self) -> int:
        return sum(map(len, (self.passed, self.failed, self.errors, self.skipped, self.xfailed)))


def read_junit(
    path: Path, root: Path, *, added: frozenset[str] = frozenset()
) -> JunitSummary | None:
    """The summary of the JUnit file at ``path`` (node ids relative to ``root``);
    None when the file is missing, too large or not valid XML. Cases whose node id is in
    ``added`` count only when they fail or error (see :attr:`JunitSummary.added`)."""
    try:
        if path.stat().st_size > MAX_JUNIT_BYTES:
            return None
        tree = ET.parse(path)  # nosec B314 - see the module docstring
    except (OSError, ET.ParseError):
        return None
    kinds: dict[str, list[str]] = {
        k: [] for k in ("passed", "failed", "errors", "skipped", "xfailed")
    }
    causes: list[tuple[str, str]] = []
    extra: list[str] = []
    for case in tree.getroot().iter("testcase"):
        node = node_id(case.get("classname", ""), case.get("name", ""), root)
        kind = _kind(case)
        if node in added:
            extra.append(node)
            if kind not in ("failed", "errors"):
                continue
        kinds[kind].append(node)
        if kind in ("failed", "errors"):
            # the run's scratch directory means nothing to a reader: paths relative to it
            causes.append((node, error_line(case).replace(f"{root}/", "")))
    return JunitSummary(
        **{k: tuple(v) for k, v in kinds.items()}, causes=tuple(causes), added=tuple(extra)
    )


def error_line(case: ET.Element) -> str:
    """The line that says why a failed/errored case failed: pytest's first ``E   ...`` line
    of the traceback (``ImportError: cannot import name 'area' from 'geo'``), else the first
    line of the ``message`` attribute, at most 200 characters."""
    found = case.find("failure")
    if found is None:
        found = case.find("error")
    if found is None:
        return ""
    for line in (found.text or "").splitlines():
        if line.startswith("E ") and line[1:].strip():
            return line[1:].strip()[:200]
    message = (found.get("message") or "").strip()
    return message.splitlines()[0][:200] if message else ""


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
