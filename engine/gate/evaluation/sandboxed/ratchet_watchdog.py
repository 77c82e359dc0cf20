"""A time limit on each test's body, inside the sandbox (``-p ratchet_watchdog``).

With ``RATCHET_WATCHDOG`` naming a JSON file ``{"tests": {node id: seconds}, "default":
seconds, "marker": PATH}``, a test whose call phase (the test function itself: not its
fixtures' setup or teardown) runs longer than its limit ends the session: ``PATH`` gets
``{"test": node id, "seconds": limit}`` and the process exits at once with status 124 (no
report, no coverage: the host reads the marker and rejects). A test not listed gets
``default``. Without it, a candidate that makes one test loop holds the run until the
whole run's limit.

Python-level code only: the limit is a thread's timer, which needs the GIL to fire; a test
stuck in C code that holds it runs on to the run's own limit. A fork of the session
(``ratchet_rerun``'s re-runs) has no timer of its own: its parent's, still counting, ends
both. Imports nothing from ``engine``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

ENV = "RATCHET_WATCHDOG"
EXIT = 124  # timeout(1)'s status: the run ended because a test ran past its limit

_spec: dict[str, Any] | None = None


def pytest_configure(config: Any) -> None:
    global _spec
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        tests = {str(k): float(v) for k, v in data["tests"].items()}
        _spec = {"tests": tests, "default": float(data["default"]), "marker": str(data["marker"])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        _spec = None  # no limits: the run's own applies


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: Any) -> Iterator[None]:
    spec = _spec
    if spec is None:
        yield
        return
    seconds = spec["tests"].get(item.nodeid, spec["default"])
    timer = threading.Timer(seconds, _expire, (item.nodeid, seconds, spec["marker"]))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _expire(nodeid: str, seconds: float, marker: str) -> None:
    try:
        tmp = f"{marker}.part"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"test": nodeid, "seconds": seconds}, fh)
        os.replace(tmp, marker)
    finally:
        os._exit(EXIT)
