"""A pytest run's verdict as :class:`~engine.model.TestMetrics`: counts from its JUnit
summary, the failure ids, the first failure's cause, the output tail, flaky tests forgiven.

A run that ends without a pytest verdict (crash, kill, timeout, missing JUnit file, or a
non-zero exit with no failing test) counts one error with failure id ``<session>``, so it
can never look green.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from engine.gate.evaluation.probes.junit import JunitSummary
from engine.gate.evaluation.process import RunResult
from engine.model import TestMetrics

SESSION_FAILURE = "<session>"
TAIL_LINES = 40
NO_TESTS_EXIT = 5


def pytest_metrics(result: RunResult, summary: JunitSummary | None) -> TestMetrics:
    """TestMetrics from one pytest run and its JUnit summary (None: no readable file)."""
    s = summary or JunitSummary()
    failures = s.failed + s.errors
    errors = len(s.errors)
    verdict_missing = summary is None or (
        result.returncode not in (0, NO_TESTS_EXIT) and not failures
    )
    if verdict_missing:
        errors += 1
        failures += (SESSION_FAILURE,)
    return TestMetrics(
        passed=len(s.passed),
        failed=len(s.failed),
        errors=errors,
        skipped=len(s.skipped),
        xfailed=len(s.xfailed),
        collected=s.collected,
        doctests_added=len(s.added),
        duration=result.duration,
        exit_code=result.returncode,
        timed_out=result.timed_out,
        failures=failures,
        output_tail=output_tail(result),
        first_failure=first_failure_of(s, result),
    )


def first_failure_of(
    summary: JunitSummary, result: RunResult, session: str = SESSION_FAILURE
) -> str:
    """``node: error line`` of the first failed case; for a run without a verdict, the
    reason it has none (timeout, or the last line of its output)."""
    if summary.causes:
        node, line = summary.causes[0]
        return f"{node}: {line}" if line else node
    if result.timed_out:
        return f"{session}: the test command timed out"
    if result.returncode in (0, NO_TESTS_EXIT):
        return ""
    lines = [ln.strip() for ln in output_tail(result).splitlines() if ln.strip()]
    # pytest's usage error says what on its own line ("__main__.py: error: unrecognized
    # arguments: --asyncio-mode=strict"), not on the last one ("rootdir: ..."); an internal
    # error's exception is its traceback's last INTERNALERROR line (bidict 0.23: a
    # hypothesis profile its missing conftest registers), whatever is printed after it
    internal = [ln[len(_INTERNAL) :].strip() for ln in lines if ln.startswith(_INTERNAL)]
    said = next((ln for ln in lines if _USAGE.search(ln)), "")
    said = said or (internal[-1] if internal else lines[-1] if lines else "")
    return f"{session}: exit {result.returncode}" + (f": {said[:200]}" if said else "")


_USAGE = re.compile(r"(?i)\berror: (?!usage:)")
_INTERNAL = "INTERNALERROR>"


def forgive_flaky(tests: TestMetrics, summary: JunitSummary, flaky: Sequence[str]) -> TestMetrics:
    """Count tests that passed on a re-run as passed; note them at the end of the output."""
    if not flaky:
        return tests
    failures = tuple(f for f in tests.failures if f not in flaky)
    failed = tests.failed - sum(1 for f in flaky if f in summary.failed)
    errors = tests.errors - sum(1 for f in flaky if f in summary.errors)
    # pytest's 1 meant "some tests failed"; if none are left, the run is as good as green
    exit_code = 0 if tests.exit_code == 1 and not failures else tests.exit_code
    note = "flaky (failed, then passed on re-run): " + ", ".join(flaky)
    causes = [(n, line) for n, line in summary.causes if n in failures]
    first = (f"{causes[0][0]}: {causes[0][1]}" if causes else "") if failures else ""
    return dataclasses.replace(
        tests,
        passed=tests.passed + len(flaky),
        failed=failed,
        errors=errors,
        failures=failures,
        exit_code=exit_code,
        output_tail=f"{tests.output_tail}\n{note}".lstrip("\n"),
        first_failure=first or (tests.first_failure if failures else ""),
    )


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # CSI sequences: colours, cursor moves


def output_tail(result: RunResult, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of stdout followed by stderr, terminal colours left out (a
    project's ``addopts`` may say ``--color=yes``: wcwidth, python-slugify)."""
    text = _ANSI.sub("", result.stdout)
    if result.stderr.strip():
        text = f"{text.rstrip()}\n{_ANSI.sub('', result.stderr)}"
    if result.timed_out:
        text = f"{text.rstrip()}\n[killed: the test command timed out]"
    return "\n".join(text.strip("\n").splitlines()[-lines:])
