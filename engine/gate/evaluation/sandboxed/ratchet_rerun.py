"""Flaky re-runs from a fork of the session taken before its first test, inside the sandbox.

As a pytest plugin (``-p ratchet_rerun``) with ``RATCHET_RERUN`` naming a JSON spec
``{"rounds": N, "out": PATH, "seconds": S, "max_rss_mb": M, "known": [node ids]}``: when
the collection is done and no test has run yet (no fixture set up, nothing a test did),
the session forks a copy of itself that only waits (the *zygote*). When the session ends
with failed tests (the ``known`` ones left out: the host does not re-run them), each of up
to ``N`` rounds forks the zygote once more and runs the tests still failing in that copy,
untraced (coverage stopped in the zygote), with pytest's own runner protocol: the state a
new ``pytest <ids>`` process would run them from, with every test module already imported
— without that process's interpreter start, plugin loading and collection (0.25 to 0.5 s
of every re-run measured here). ``PATH`` then gets ``{"ran": [[classname, name], ...],
"passed": [...], "went_on": [...]}``, each test named as ``--junitxml`` names it, so the
host maps them to the node ids it reads from the JUnit file. A fail-fast session asks
:func:`rerun_now` at its first new failure instead: a test that passes again there does
not stop it (``went_on``: the tests after it ran, traced).

Nothing is forked, and ``PATH`` is not written (the host re-runs in a new process then),
where a fork would not be a clean copy or not worth it: other threads running at that
moment, a process larger than ``M`` MB (the zygote keeps that memory while the session
changes its own), no ``os.fork``, an xdist controller (its items run in the workers) or
worker, a nested (pytester) session. A round that does not answer within what is left of
``S`` seconds (counted from this module's import) less a tenth (at least 2 s: the session
still ends inside the run's limit) is killed; its tests count as failed.

The zygote ends when the session does: it reads its requests from a pipe whose only
writer is the session, so the end of the session is the end of its input.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

SPEC_ENV = "RATCHET_RERUN"
_STARTED = time.monotonic()
_spec: dict[str, Any] = {}
_failed: dict[str, None] = {}  # node ids of failed tests, in order
_now: dict[str, bool] = {}  # node ids re-run while the session ran (rerun_now): passed?
_zygote: dict[str, Any] = {}  # pid, request writer, answer reader


def pytest_configure(config: Any) -> None:
    if _spec or hasattr(config, "workerinput"):  # nested session, or an xdist worker
        return
    path = os.environ.get(SPEC_ENV)
    if not path:
        return
    try:
        with open(path, encoding="utf-8") as fh:
            spec = json.load(fh)
        _spec.update(
            config=config,
            rounds=int(spec["rounds"]),
            out=str(spec["out"]),
            seconds=float(spec["seconds"]),
            max_rss=int(spec["max_rss_mb"]) * 1024 * 1024,
            known={k for k in spec.get("known", []) if isinstance(k, str)},
        )
    except Exception:  # noqa: BLE001, S110 - unreadable: the host re-runs in a new process
        pass


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtestloop(session: Any) -> Iterator[None]:
    if _spec and session.config is _spec["config"] and _forkable(session):
        with contextlib.suppress(Exception):  # no zygote: the host re-runs in a new process
            _start(session)
    yield


def _forkable(session: Any) -> bool:
    if not hasattr(os, "fork") or not session.items or threading.active_count() > 1:
        return False
    return _rss() <= _spec["max_rss"]


def _rss() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 1 << 62  # unknown: not forked


def pytest_runtest_logreport(report: Any) -> None:
    if _zygote and report.failed and report.nodeid not in _spec["known"]:
        _failed[report.nodeid] = None


def rerun_now(nodeid: str) -> bool:
    """Re-run one failed test at once, in a fork of the zygote, while the session goes on:
    did it pass? The contexts plugin's fail-fast asks before it stops the session at a new
    failure, and goes on past a test that passes again (it is forgiven as flaky, and the
    tests after it still run). False without a zygote or for a ``known`` failure; asked
    once per test (a failed call and teardown are one question), and that answer is the
    test's first round at the end."""
    if nodeid in _now:
        return _now[nodeid]
    if not _zygote or "dead" in _zygote or nodeid in _spec.get("known", ()):
        return False
    passed = nodeid in set(_ask([nodeid]))
    _now[nodeid] = passed
    return passed


def pytest_sessionfinish(session: Any) -> None:
    if not _zygote or session.config is not _spec["config"]:
        return
    try:
        if _failed:
            _write(_rounds(session, list(_failed)))
    except Exception:  # noqa: BLE001, S110 - no file: the host re-runs in a new process
        pass
    finally:
        _end()


def _rounds(session: Any, failed: list[str]) -> dict[str, list[list[str]]]:
    known = {item.nodeid for item in session.items}
    ran = [n for n in failed if n in known]
    passed = [n for n in ran if _now.get(n)]
    remaining = [n for n in ran if not _now.get(n)]
    for round_ in range(_spec["rounds"]):
        if not remaining or "dead" in _zygote:
            break
        batch = [n for n in remaining if round_ > 0 or n not in _now]  # asked: its round 1
        back = set(_ask(batch)) if batch else set()
        passed += [n for n in remaining if n in back]
        remaining = [n for n in remaining if n not in back]
    went_on = [n for n in ran if _now.get(n)]
    return {
        "ran": [_junit_name(n) for n in ran],
        "passed": [_junit_name(n) for n in passed],
        "went_on": [_junit_name(n) for n in went_on],
    }


def _junit_name(nodeid: str) -> list[str]:
    """``[classname, name]`` as pytest's ``--junitxml`` writes them for ``nodeid``."""
    from _pytest.junitxml import mangle_test_address

    names = mangle_test_address(nodeid)
    return [".".join(names[:-1]), names[-1]]


def _write(result: dict[str, list[list[str]]]) -> None:
    out = _spec["out"]
    with open(out + ".part", "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(out + ".part", out)


def _start(session: Any) -> None:
    requests, to_zygote = os.pipe()
    from_zygote, answers = os.pipe()
    pid = os.fork()
    if pid == 0:  # the zygote
        code = 0
        try:
            os.close(to_zygote)
            os.close(from_zygote)
            _untraced()
            _serve(session, requests, answers)
        except BaseException:  # noqa: BLE001 - the zygote never returns into the session
            code = 1
        finally:
            os._exit(code)
    os.close(requests)
    os.close(answers)
    _zygote.update(pid=pid, to=to_zygote, back=from_zygote)


def _untraced() -> None:
    """Coverage stopped in this process: a re-run is untraced (and saves nothing)."""
    with contextlib.suppress(Exception):
        import coverage

        cov = coverage.Coverage.current()
        if cov is not None:
            cov.stop()


def _serve(session: Any, requests: int, answers: int) -> None:
    """The zygote: per request line (a JSON list of node ids), a fork that runs them and
    answers a JSON list of those that passed, then an empty line; EOF: the session ended."""
    with os.fdopen(requests, "r", encoding="utf-8") as reader:
        for line in reader:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    passed = _run(session, json.loads(line))
                    os.write(answers, (json.dumps(passed) + "\n").encode())
                except BaseException:  # noqa: BLE001 - a crash answers nothing: all failed
                    code = 1
                finally:
                    os._exit(code)
            os.write(answers, f"{json.dumps({'pid': pid})}\n".encode())
            os.waitpid(pid, 0)
            os.write(answers, b"\n")


def _run(session: Any, nodeids: Sequence[str]) -> list[str]:
    """Run these items of the (never yet run) session in order; the ids that passed."""
    from _pytest.runner import runtestprotocol

    by_id = {item.nodeid: item for item in session.items}
    items = [by_id[n] for n in nodeids if n in by_id]
    passed = []
    for i, item in enumerate(items):
        after = items[i + 1] if i + 1 < len(items) else None
        reports = runtestprotocol(item, nextitem=after, log=False)
        calls = [r for r in reports if r.when == "call"]
        ok = calls and calls[0].passed and not hasattr(calls[0], "wasxfail")
        if ok and not any(r.failed for r in reports):
            passed.append(item.nodeid)
    return passed


def _ask(nodeids: list[str]) -> list[str]:
    """One round in a fresh fork of the zygote: the ids that passed ([] on no answer)."""
    os.write(_zygote["to"], (json.dumps(nodeids) + "\n").encode())
    lines: list[str] = []
    buffer = b""
    # the session still has to end (its JUnit file, coverage's data) inside the run's limit
    deadline = _STARTED + _spec["seconds"] - max(2.0, _spec["seconds"] / 10)
    while True:
        left = deadline - time.monotonic()
        ready = select.select([_zygote["back"]], [], [], max(left, 0.0))[0] if left > 0 else []
        if not ready:
            _kill(lines)
            return []
        chunk = os.read(_zygote["back"], 65536)
        if not chunk:  # the zygote is gone
            _zygote["dead"] = True
            return []
        buffer += chunk
        *done, buffer = buffer.split(b"\n")
        for raw in done:
            if not raw:  # the round is over
                return _passed(lines)
            lines.append(raw.decode("utf-8", "replace"))


def _passed(lines: list[str]) -> list[str]:
    for line in reversed(lines):
        with contextlib.suppress(ValueError):
            got = json.loads(line)
            if isinstance(got, list):
                return [n for n in got if isinstance(n, str)]
    return []


def _kill(lines: list[str]) -> None:
    """A round that overran: its fork and the zygote killed (no more rounds)."""
    for line in lines:
        with contextlib.suppress(ValueError, TypeError, OSError):
            os.kill(int(json.loads(line)["pid"]), signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(_zygote["pid"], signal.SIGKILL)
    _zygote["dead"] = True


def _end() -> None:
    """The zygote's input closed (it exits) and the zygote reaped."""
    zygote = dict(_zygote)
    _zygote.clear()
    for fd in (zygote["to"], zygote["back"]):
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        os.waitpid(zygote["pid"], 0)
