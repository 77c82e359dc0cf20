"""Per-test coverage contexts, inside the sandbox.

As a pytest plugin (``-p ratchet_contexts``, under ``coverage run``): coverage's dynamic
context is the test's node id while the test runs (setup, call, teardown), and empty
between tests. Nothing is switched when the project's own coverage configuration sets
``dynamic_context`` (it owns the contexts then) or when coverage is not running. With
``RATCHET_CONTEXTS_REPORT`` set (JSON ``[DATA, ROOT, OUT, REPORT]``), the plugin also
writes what the script below writes (not after a fail-fast ``-x`` session stopped by a
failure: the host measures no coverage of a rejection), as the session ends (the last
``pytest_unconfigure``):
it stops and saves coverage there and reports from the saved file, so the run needs no
second interpreter for its report. It does nothing when the running coverage is not the
one writing ``DATA`` or writes parallel data files; a missing file tells the host to run
the script instead. Code that runs after that hook (other plugins' ``pytest_unconfigure``,
``atexit`` handlers) is not measured. A doctest item ``ratchet_probe`` added
(``ratchet_added``) runs with coverage paused: the baseline's run never had it. With
``RATCHET_CONTEXTS_KEEP``, it deselects every collected test but the listed ones (the
cascade's reaching run over the whole collection).
With ``RATCHET_CONTEXTS_STOP`` (JSON ``{"known": [node ids], "marker": PATH}``), it is the
fail-fast instead of ``-x``: the session stops at the first failing test whose node id is
not listed (the baseline's own failures run on, traced), and ``PATH`` is written when it
stopped — the host then knows the tests after it were not traced.

As ``python ratchet_contexts.py --combine DATA``: the parallel data files of a run
(``[run] parallel = true`` in the project's configuration) merged into ``DATA``; as
``--json DATA REPORT``: the ``coverage json`` report only. Reports leave the project's
``[paths]`` out (:func:`_coverage`).

As a script (``python ratchet_contexts.py DATA ROOT OUT [REPORT]``): the data file's
contexts per line (``CoverageData.contexts_by_lineno``) as JSON ``{"tests": [node ids],
"lines": {path: {line: [index, ...]}}, "outside": {path: [line, ...]}}``, paths relative
to ``ROOT``, the lines run with the empty context (between tests: imports, collection) in
``outside``; when the data has arcs (``branch = true``), also ``"arcs": {path: [[from, to,
[index, ...]], ...]}`` and ``"outside_arcs": {path: [[from, to], ...]}``: the branch arcs
each context took, as ``coverage json`` counts them. With ``REPORT``, first the ``coverage
json`` report there (the same process: one interpreter start fewer per measured run).
Written by the plugin, the map also has ``"durations": {node id: seconds}``: every test
the session ran (setup, call and teardown), whether or not it ran a measured line.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _running() -> Any:
    """The coverage measuring this process, or None."""
    try:
        import coverage

        return coverage.Coverage.current()
    except Exception:  # noqa: BLE001 - never break the observed run
        return None


def _switch(name: str) -> None:
    cov = _running()
    if cov is None or cov.config.dynamic_context:
        return
    with contextlib.suppress(Exception):  # never break the observed run
        cov.switch_context(name)


REPORT_ENV = "RATCHET_CONTEXTS_REPORT"
_first: list[Any] = []  # the outermost session's config (pytester runs nest sessions)


def pytest_configure(config: Any) -> None:
    if not _first:
        _first.append(config)


_stopped: list[bool] = []  # a fail-fast (-x) session stopped by a failure: no report wanted

STOP_ENV = "RATCHET_CONTEXTS_STOP"
_stop: dict[str, Any] = {}  # session, known ids, marker path: this plugin's fail-fast


def pytest_sessionstart(session: Any) -> None:
    path = os.environ.get(STOP_ENV)
    if not path or not _first or session.config is not _first[0]:
        return
    try:
        with open(path, encoding="utf-8") as fh:
            spec = json.load(fh)
        _stop.update(
            session=session,
            known={k for k in spec["known"] if isinstance(k, str)},
            marker=str(spec["marker"]),
        )
    except Exception:  # noqa: BLE001 - unreadable: stop at any failure, as -x would
        _stop.update(session=session, known=set(), marker="")


def _stop_at(report: Any) -> None:
    """This plugin's fail-fast: a failure the baseline did not have ends the session,
    unless it passes when re-run at once (``ratchet_rerun.rerun_now``: flaky, forgiven by
    the host, and the tests after it still run and are traced)."""
    if not _stop or not report.failed or report.nodeid in _stop["known"]:
        return
    if _passes_again(report.nodeid):
        return
    _stop["session"].shouldfail = f"ratchet: stopping at {report.nodeid} (a new failure)"
    _stopped_at(report.nodeid)


def _passes_again(nodeid: str) -> bool:
    rerun = getattr(sys.modules.get("ratchet_rerun"), "rerun_now", None)
    if rerun is None:  # the plugin is not loaded: stop, as before
        return False
    try:
        return bool(rerun(nodeid))
    except Exception:  # noqa: BLE001 - no answer: stop
        return False


def _stopped_at(why: str) -> None:
    _stopped.append(True)
    if _stop["marker"]:
        with contextlib.suppress(Exception), open(_stop["marker"], "w", encoding="utf-8") as fh:
            fh.write(why)


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    config = session.config
    if _first and config is _first[0]:
        _stopped.append(bool(session.testsfailed) and config.option.maxfail == 1)
        if _stop and int(exitstatus) in (2, 3):  # interrupted (a collection error), internal
            _stopped_at(f"exit status {int(exitstatus)}")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: Any) -> None:
    spec = os.environ.get(REPORT_ENV)
    if not spec or not _first or config is not _first[0] or any(_stopped):
        return  # a fail-fast failure rejects: the host reads no coverage of it
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
        write_map(data_file, root, out + ".part", durations=_durations)
        os.replace(report + ".part", report)  # both whole, or the host runs the script
        os.replace(out + ".part", out)
    except Exception:  # noqa: BLE001, S110 - never break the observed run
        pass


KEEP_ENV = "RATCHET_CONTEXTS_KEEP"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    """With ``RATCHET_CONTEXTS_KEEP`` (a JSON list of node ids and test file paths), run
    only those tests of the whole collection: every test module was still imported (its
    import-time code ran, traced, outside any test). An unreadable list keeps them all."""
    path = os.environ.get(KEEP_ENV)
    if not path or not _first or config is not _first[0]:
        return
    try:
        with open(path, encoding="utf-8") as fh:
            keep = {k for k in json.load(fh) if isinstance(k, str)}
    except Exception:  # noqa: BLE001 - more tests run, never fewer
        return
    kept: list[Any] = []
    dropped: list[Any] = []
    for item in items:
        wanted = item.nodeid in keep or item.nodeid.split("::", 1)[0] in keep
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


_durations: dict[str, float] = {}  # node id -> seconds of its setup, call and teardown


def pytest_runtest_logreport(report: Any) -> None:
    with contextlib.suppress(Exception):
        _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + float(report.duration)
    _stop_at(report)


ADDED = "ratchet_added"  # ratchet_probe.ADDED: a doctest the baseline's run never had


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: Any, nextitem: Any) -> Iterator[None]:
    if getattr(item, ADDED, False):  # its verdict counts, its coverage does not
        cov = _running()
        if cov is not None:
            with contextlib.suppress(Exception):
                cov.stop()
        yield
        if cov is not None:
            with contextlib.suppress(Exception):
                cov.start()
        return
    _switch(item.nodeid)
    yield
    _switch("")


def write_map(
    data_file: str, root: str, out: str, durations: dict[str, float] | None = None
) -> None:
    from coverage import CoverageData

    data = CoverageData(basename=data_file)
    data.read()
    tests: dict[str, int] = {}
    lines: dict[str, dict[str, list[int]]] = {}
    outside: dict[str, list[int]] = {}
    base = os.path.realpath(root)
    names: dict[str, str] = {}  # measured file -> its path under root
    for name in data.measured_files():
        path = os.path.relpath(os.path.realpath(name), base)
        if path.startswith(".."):
            continue
        path = names[name] = path.replace(os.sep, "/")
        by_line: dict[str, list[int]] = {}
        alone: list[int] = []
        for lineno, contexts in data.contexts_by_lineno(name).items():
            ix = sorted({tests.setdefault(c, len(tests)) for c in contexts if c})
            if ix:
                by_line[str(lineno)] = ix
            if "" in contexts:
                alone.append(lineno)
        if by_line:
            lines[path] = by_line
        if alone:
            outside[path] = sorted(alone)
    written: dict[str, Any] = {"tests": list(tests), "lines": lines, "outside": outside}
    if data.has_arcs():
        # no arcs when they cannot be read: the host then measures such a baseline whole
        with contextlib.suppress(Exception):
            written |= _branch_map(data_file, names, tests)
    if durations is not None:
        written["durations"] = {t: round(d, 6) for t, d in durations.items() if "::" in t}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(written, fh)


def _branch_map(data_file: str, names: dict[str, str], tests: dict[str, int]) -> dict[str, Any]:
    """Per file, the branch arcs each context executed, as ``coverage json`` counts them:
    the raw arcs of the data file (read per context from its documented SQLite schema),
    translated by the file's reporter the way coverage's own analysis does, kept when they
    leave a branch line not marked ``no branch`` for a line not excluded (the arcs a report
    can call missing)."""
    import sqlite3

    from coverage.python import PythonFileReporter

    cov = _coverage(data_file)  # the project's configuration (cwd: root)
    raw: dict[str, dict[str, set[tuple[int, int]]]] = {}
    db = sqlite3.connect(Path(os.path.abspath(data_file)).as_uri() + "?mode=ro", uri=True)
    try:
        query = (
            "SELECT file.path, context.context, arc.fromno, arc.tono FROM arc"
            " JOIN file ON arc.file_id = file.id JOIN context ON arc.context_id = context.id"
        )
        for name, context, a, b in db.execute(query):
            if name in names:
                raw.setdefault(name, {}).setdefault(context, set()).add((a, b))
    finally:
        db.close()
    arcs: dict[str, list[list[Any]]] = {}
    outside: dict[str, list[list[int]]] = {}
    for name, by_context in raw.items():
        if not name.endswith(".py"):
            continue
        count = _counter(PythonFileReporter(name, cov))
        by_arc: dict[tuple[int, int], set[int]] = {}
        for context, got in by_context.items():
            for arc in count(got):
                if context:
                    by_arc.setdefault(arc, set()).add(tests.setdefault(context, len(tests)))
                else:
                    outside.setdefault(names[name], []).append(list(arc))
        arcs[names[name]] = [[a, b, sorted(ix)] for (a, b), ix in sorted(by_arc.items())]
    return {"tests": list(tests), "arcs": arcs, "outside_arcs": outside}


def _counter(reporter: Any) -> Any:
    """The function from a context's raw arcs to the branch arcs a report would count
    (coverage's ``analysis_from_file_reporter``, per arc: its every step maps one arc)."""
    possible = reporter.arcs()
    exits = reporter.exit_counts()
    no_branch = reporter.no_branch_lines()
    excluded = reporter.excluded_lines()
    countable = {
        (a, b)
        for a, b in possible
        if exits.get(a, 0) > 1 and a not in no_branch and b not in excluded
    }
    dests: dict[int, set[int]] = {}
    for a, b in possible:
        dests.setdefault(a, set()).add(b)
    single = {a: next(iter(bs)) for a, bs in dests.items() if len(bs) == 1}

    def count(raw: set[tuple[int, int]]) -> set[tuple[int, int]]:
        arcs = reporter.translate_arcs(raw)
        fixed = {(a, b) if a != b else (a, single[a]) for a, b in arcs if a != b or a in single}
        return set(reporter.translate_arcs(fixed)) & countable

    return count


def write_json(data_file: str, out: str) -> None:
    """``coverage json`` for the data file, through the API (one process for both)."""
    cov = _coverage(data_file)
    cov.load()
    # code compiled from a string under a made-up file name (attrs' tests compile with
    # filename="__init__") was measured but has no source: left out, as `coverage json -i`
    cov.json_report(outfile=out, ignore_errors=True)


def _coverage(data_file: str) -> Any:
    """A ``Coverage`` for the data file with the project's configuration, less its
    ``[paths]``: the data were measured here, at the paths they name, and reporting remaps
    through ``[paths]`` first (pyjwt 2.10.1's starts with ``*/site-packages``, which
    coverage refuses: "Result path must not contain wildcards")."""
    import coverage

    cov = coverage.Coverage(data_file=data_file)
    cov.config.paths = {}
    return cov


def combine(data_file: str) -> None:
    """Merge the parallel data files ``DATA.*`` of one run into ``DATA``, as ``coverage
    combine`` does but without the project's ``[paths]`` remapping: every file was written
    here, at the paths it names (pyjwt 2.10.1's ``[tool.coverage.paths]`` starts with
    ``*/site-packages``, and ``coverage combine`` refuses it: "Result path must not contain
    wildcards", so nothing was measured)."""
    import glob

    from coverage import CoverageData

    combined = CoverageData(basename=data_file)
    for name in sorted(glob.glob(glob.escape(data_file) + ".*")):
        part = CoverageData(basename=name)
        part.read()
        combined.update(part)
    combined.write()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--combine"]:
        combine(sys.argv[2])
    elif sys.argv[1:2] == ["--json"]:
        write_json(sys.argv[2], sys.argv[3])
    else:
        if len(sys.argv) > 4:  # the JSON report first: the metrics need it, the map is extra
            write_json(sys.argv[1], sys.argv[4])
        write_map(sys.argv[1], sys.argv[2], sys.argv[3])
