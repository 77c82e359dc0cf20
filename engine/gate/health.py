"""Is the baseline fit to judge candidates, and how long may a candidate's tests run?

:func:`broken_baseline` says, in one sentence a user can act on, why the target tip's own
test run cannot be a reference: it timed out, it errored (collection or import errors, a
crashed session, a syntax error), or nothing passed while something failed. Individual
failing tests on an otherwise working suite are *not* "broken": they are quarantined (see
``engine.gate.guards.quarantine``), so one known failure does not stop the daemon.

:func:`adaptive_timeout`: a candidate's test run is killed at
``min(timeouts.tests, max(timeouts.floor, timeouts.factor x baseline duration))`` (floor
60 s and factor 5 by default); without a usable baseline duration (not measured, or it
timed out) ``timeouts.tests`` applies.
"""

from __future__ import annotations

from engine.gate.evaluation.generated import NOT_BUILT
from engine.gate.evaluation.probes.tests import FILE_SIZE_HINT
from engine.model import Metrics, Timeouts

_FIRST_LINE = 160


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
    if tests.errors == 0 and not (tests.failed and not tests.passed):
        return None
    counts = []
    if tests.errors:
        counts.append(f"{tests.errors} error{'s' * (tests.errors != 1)}")
    if tests.failed:
        counts.append(f"{tests.failed} failed")
    first = first_problem(tests.output_tail) or (tests.failures[0] if tests.failures else "")
    shown = f", first: {first}" if first else ""
    # the measurement's notes that say how to fix this: a version file nobody built, a
    # coverage data file cut by the file size limit
    fixes = [n for n in metrics.notes if NOT_BUILT in n or FILE_SIZE_HINT in n][:2]
    return f"the tests fail on the target at {sha}: {', '.join(counts)}{shown}; " + "; ".join(
        [*fixes, fix]
    )


def first_problem(output: str) -> str:
    """The first line of test output that names an exception or error, clipped."""
    for line in output.splitlines():
        text = line.strip().lstrip("E").strip()
        if ("Error" in text or "Exception" in text) and ":" in text:
            return text[:_FIRST_LINE]
    return ""


def adaptive_timeout(timeouts: Timeouts, baseline: Metrics | None) -> float:
    """The wall-clock limit of a candidate's test run (module doc)."""
    if baseline is None or baseline.tests.timed_out or baseline.tests.duration <= 0:
        return timeouts.tests
    return min(timeouts.tests, max(timeouts.floor, timeouts.factor * baseline.tests.duration))
