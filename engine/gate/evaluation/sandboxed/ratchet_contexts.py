"""Per-test coverage contexts, inside the sandbox.

As a pytest plugin (``-p ratchet_contexts``, under ``coverage run``): coverage's dynamic
context is the test's node id while the test runs (setup, call, teardown), and empty
between tests. Nothing is switched when the project's own coverage configuration sets
``dynamic_context`` (it owns the contexts then) or when coverage is not running. With
``RATCHET_CONTEXTS_REPORT`` set (JSON ``[DATA, ROOT, OUT, REPORT]``), the plugin also
writes what the script below writes, as the session ends (the last ``pytest_unconfigure``):
it stops and saves coverage there and reports from the saved file, so the run needs no
second interpreter for its report. It does nothing when the running coverage is not the
one writing ``DATA`` or writes parallel data files; a missing file tells the host to run
the script instead. Code that runs after that hook (other plugins' ``pytest_unconfigure``,
``atexit`` handlers) is not measured.

As a script (``python ratchet_contexts.py DATA ROOT OUT [REPORT]``): the data file's
contexts per line (``CoverageData.contexts_by_lineno``) as JSON ``{"tests": [node ids],
"lines": {path: {line: [index, ...]}}}``, paths relative to ``ROOT``, empty contexts left
out; with ``REPORT``, first the ``coverage json`` report there (the same process: one
interpreter start fewer per measured run).
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


REPORT_ENV = "RATCHET_CONTEXTS_REPORT"
_first: list[Any] = []  # the outermost session's config (pytester runs nest sessions)


def pytest_configure(config: Any) -> None:
    if not _first:
        _first.append(config)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: Any) -> None:
    spec = os.environ.get(REPORT_ENV)
    if not spec or not _first or config is not _first[0]:
        return
    try:
        import coverage

        data_file, root, out, report = json.loads(spec)
        cov = coverage.Coverage.current()
        if cov is None or cov.config.parallel:
            return
        if os.path.realpath(str(cov.config.data_file)) != os.path.realpath(data_file):
            return
        cov.stop()
        cov.save()
        os.chdir(root)  # the configuration ``coverage json`` would read, whatever a test did
        write_json(data_file, report + ".part")
        write_map(data_file, root, out + ".part")
        os.replace(report + ".part", report)  # both whole, or the host runs the script
        os.replace(out + ".part", out)
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


def write_json(data_file: str, out: str) -> None:
    """``coverage json`` for the data file, through the API (one process for both)."""
    import coverage

    cov = coverage.Coverage(data_file=data_file)
    cov.load()
    cov.json_report(outfile=out)


if __name__ == "__main__":
    if len(sys.argv) > 4:  # the JSON report first: the metrics need it, the map is extra
        write_json(sys.argv[1], sys.argv[4])
    write_map(*sys.argv[1:4])
