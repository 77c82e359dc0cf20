"""Per-test coverage contexts, inside the sandbox.

As a pytest plugin (``-p ratchet_contexts``, under ``coverage run``): coverage's dynamic
context is the test's node id while the test runs (setup, call, teardown), and empty
between tests. Nothing is switched when the project's own coverage configuration sets
``dynamic_context`` (it owns the contexts then) or when coverage is not running.

As a script (``python ratchet_contexts.py DATA ROOT OUT``): the data file's contexts per
line (``CoverageData.contexts_by_lineno``) as JSON ``{"tests": [node ids], "lines":
{path: {line: [index, ...]}}}``, paths relative to ``ROOT``, empty contexts left out.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest


def _switch(name: str) -> None:
    try:
        import coverage

        cov = coverage.Coverage.current()
        if cov is None or cov.config.dynamic_context:
            return
        cov.switch_context(name)
    except Exception:  # noqa: BLE001, S110 - never break the observed run
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Iterator[None]:
    _switch(item.nodeid)
    yield
    _switch("")


def write_map(data_file: str, root: str, out: str) -> None:
    from coverage import CoverageData

    data = CoverageData(basename=data_file)
    data.read()
    tests: dict[str, int] = {}
    lines: dict[str, dict[str, list[int]]] = {}
    base = os.path.realpath(root)
    for name in data.measured_files():
        path = os.path.relpath(os.path.realpath(name), base)
        if path.startswith(".."):
            continue
        by_line: dict[str, list[int]] = {}
        for lineno, contexts in data.contexts_by_lineno(name).items():
            ix = sorted({tests.setdefault(c, len(tests)) for c in contexts if c})
            if ix:
                by_line[str(lineno)] = ix
        if by_line:
            lines[path.replace(os.sep, "/")] = by_line
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"tests": list(tests), "lines": lines}, fh)


if __name__ == "__main__":
    write_map(*sys.argv[1:4])
