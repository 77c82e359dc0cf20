"""Is the baseline fit to judge candidates, and how long may a candidate's tests run?

:func:`broken_baseline` says, in one sentence a user can act on, why the target tip's own
test run cannot be a reference: it timed out, it errored where no test id says what
(collection or import errors, a crashed session, a syntax error: pytest's exit code 2 and
up, or an error without a ``path::name`` id), or nothing passed while something failed.
Individual failing tests on an otherwise working suite are *not* "broken", nor are tests
whose own setup errors (a fixture that needs a locale this machine lacks: natsort 8.4.0's
59 of 333): they are quarantined by id (see ``engine.gate.guards.quarantine``), so one
known failure does not stop the daemon.

:func:`adaptive_timeout`: a candidate's test run is killed at
``min(timeouts.tests, max(timeouts.floor, timeouts.factor x baseline duration))`` (floor
60 s and factor 5 by default); without a usable baseline duration (not measured, or it
timed out) ``timeouts.tests`` applies.
"""

from __future__ import annotations

import re

from engine.gate.evaluation.generated import NOT_BUILT
from engine.gate.evaluation.probes.coverage_plugins import HINT as COVERAGE_PLUGIN
from engine.gate.evaluation.probes.tests import FILE_SIZE_HINT
from engine.gate.evaluation.probes.verdict import SESSION_FAILURE
from engine.model import Metrics, TestMetrics, Timeouts

_FIRST_LINE = 160
_ASSERTION_PREFIX = re.compile(r"^E\s+")  # pytest's "E   " before a failure's lines


def broken_baseline(metrics: Metrics) -> str | None:
    """Why the tip's tests cannot judge a candidate (module doc), or None when they can."""
    tests = metrics.tests
    sha = metrics.commit[:12]
    fix = "ratchet cannot judge changes until they pass — fix them or set test_command"
    if tests.timed_out:
        return (
            f"the tests hang on the target at {sha}: killed after {tests.time_limit or 0:g} s; "
            f"{fix} (or raise timeouts.tests)"
        )
    if not (tests.failed or tests.errors) or (tests.passed and _by_id(tests)):
        return None
    counts = []
    if tests.errors:
        counts.append(f"{tests.errors} error{'s' * (tests.errors != 1)}")
    if tests.failed:
        counts.append(f"{tests.failed} failed")
    first = first_problem(tests.output_tail) or tests.first_failure
    first = first or (tests.failures[0] if tests.failures else "")
    shown = f", first: {first}" if first else ""
    # the measurement's notes that say how to fix this: a version file nobody built, a
    # coverage data file cut by the file size limit, a coverage plugin not installed
    hints = (NOT_BUILT, FILE_SIZE_HINT, COVERAGE_PLUGIN)
    fixes = [n for n in metrics.notes if any(h in n for h in hints)][:2]
    if (plugin := missing_pytest_plugin(tests.output_tail)) is not None:
        fixes.insert(0, plugin)
    return f"the tests fail on the target at {sha}: {', '.join(counts)}{shown}; " + "; ".join(
        [*fixes, fix]
    )


def _by_id(tests: TestMetrics) -> bool:
    """Is every failure and error of a run that ended normally one test's, by its id (so
    the quarantine can take it out of a candidate's run)?"""
    if not tests.errors:
        return True  # failures alone: the quarantine's own checks decide, as ever
    ids = tests.failures
    return (
        tests.exit_code == 1  # "some tests failed": no collection error, no crash
        and len(ids) >= tests.failed + tests.errors
        and all("::" in f and f != SESSION_FAILURE for f in ids)
    )


# options the project's configuration passes to pytest plugins, by the package to install
_PLUGIN_OPTIONS = {
    "--asyncio-mode": "pytest-asyncio",
    "--timeout": "pytest-timeout",
    "-n": "pytest-xdist",
    "--numprocesses": "pytest-xdist",
    "--dist": "pytest-xdist",
    "--cov": "pytest-cov",
    "--benchmark": "pytest-benchmark",
    "--hypothesis": "hypothesis",
    "--reruns": "pytest-rerunfailures",
    "--mypy": "pytest-mypy",
    "--doctest-plus": "pytest-doctestplus",
    "--doctest-rst": "pytest-doctestplus",
    "--mpl": "pytest-mpl",
    "--ds": "pytest-django",
    "--reuse-db": "pytest-django",
    "--randomly": "pytest-randomly",
    "--snapshot": "syrupy",
    "--html": "pytest-html",
    "--memray": "pytest-memray",
    "--codspeed": "pytest-codspeed",
}
_UNRECOGNIZED = re.compile(r"unrecognized arguments: (\S+)")


def missing_pytest_plugin(output: str) -> str | None:
    """How to fix a pytest usage error over an option of a plugin that is not installed
    (tqdm 4.67: ``--asyncio-mode=strict`` in ``addopts``, pytest-asyncio missing)."""
    found = _UNRECOGNIZED.search(output)
    if found is None:
        return None
    option = found.group(1).split("=", 1)[0]
    package = next((p for o, p in _PLUGIN_OPTIONS.items() if option == o or (
        option.startswith(o + "-") and o.startswith("--"))), None)  # fmt: skip
    said = f"{option} (in the project's pytest configuration or test command) is an option of"
    if package is None:
        return f"{said} a pytest plugin that is not installed: install the test dependencies"
    return f"{said} {package}, which is not installed: pip install {package}"


def first_problem(output: str) -> str:
    """The first line of test output that names an exception or error, clipped."""
    for line in output.splitlines():
        text = _ASSERTION_PREFIX.sub("", line.strip())
        if ("Error" in text or "Exception" in text) and ":" in text:
            return text[:_FIRST_LINE]
    return ""


def adaptive_timeout(timeouts: Timeouts, baseline: Metrics | None) -> float:
    """The wall-clock limit of a candidate's test run (module doc)."""
    if baseline is None or baseline.tests.timed_out or baseline.tests.duration <= 0:
        return timeouts.tests
    return min(timeouts.tests, max(timeouts.floor, timeouts.factor * baseline.tests.duration))
