"""Quarantine: a test that fails on the baseline too is not the candidate's fault.

The evaluator already re-runs a failing test (``flaky_reruns``) and forgives one that then
passes. What is left failing on the candidate *and* failed on the baseline (the same
pytest node id) is quarantined: taken out of both runs' ``failed``/``errors``/``failures``
and listed in ``TestMetrics.quarantined``, so the rules judge the candidate on what it
changed. A candidate cannot hide a new failure this way:

- only exact node ids that failed on the baseline (measured at the target tip, which the
  candidate cannot influence) qualify; ``<session>`` crashes, syntax problems and ids
  without ``::`` never do;
- a failing test whose file the candidate touched is not quarantined (it could have been
  rewritten to fail for a new reason under an old name), except a doctest the measurement
  found failing on the base from a docstring the candidate did not change
  (``TestMetrics.doctests_failing_on_base``, :mod:`engine.gate.evaluation.base_doctests`):
  the baseline never ran the doctests of touched modules, the measurer ran them on the base;
- nothing is quarantined when either run timed out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from engine.gate.guards.base import GuardSpec
from engine.model import Metrics, RuleOutcome, TestMetrics

QUARANTINE = GuardSpec(
    id="guard-quarantine",
    allowable=False,
    requirement="failures shared with the baseline are quarantined, not blamed on the candidate",
)
SESSION = "<session>"


@dataclass(frozen=True)
class Quarantine:
    """Both runs with the quarantined failures taken out, and what was (not) quarantined."""

    baseline: Metrics
    candidate: Metrics
    ids: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()  # shared failures in files the candidate touched

    def outcome(self) -> RuleOutcome:
        if self.ids:
            detail = "quarantined (failing on the baseline too): " + ", ".join(self.ids)
        else:
            detail = "no test quarantined"
        if self.refused:
            detail += "; not quarantined because the candidate changed their file: " + ", ".join(
                self.refused
            )
        return RuleOutcome(
            id=QUARANTINE.id,
            passed=True,
            on_fail="reject",
            detail=detail,
            values={"quarantined": list(self.ids), "refused": list(self.refused)},
        )

    def note(self) -> str | None:
        if not self.ids:
            return None
        return "quarantined tests (fail on the baseline too): " + ", ".join(self.ids)


def apply_quarantine(baseline: Metrics, candidate: Metrics, touched: Sequence[str]) -> Quarantine:
    """Quarantine the failures ``candidate`` shares with ``baseline`` (see module)."""
    if baseline.tests.timed_out or candidate.tests.timed_out:
        return Quarantine(baseline=baseline, candidate=candidate)
    known = {f for f in baseline.tests.failures if "::" in f and f != SESSION}
    on_base = {f for f in candidate.tests.doctests_failing_on_base if "::" in f}
    shared = [f for f in candidate.tests.failures if f in known | on_base]
    changed = set(touched)
    ids = tuple(f for f in shared if f in on_base or f.split("::", 1)[0] not in changed)
    refused = tuple(f for f in shared if f not in ids)
    if not ids:
        return Quarantine(baseline=baseline, candidate=candidate, refused=refused)
    return Quarantine(
        baseline=dataclasses.replace(baseline, tests=_without(baseline.tests, ids)),
        candidate=dataclasses.replace(candidate, tests=_without(candidate.tests, ids)),
        ids=ids,
        refused=refused,
    )


def _without(tests: TestMetrics, ids: tuple[str, ...]) -> TestMetrics:
    """``tests`` minus the failures in ``ids`` (failed first, then errors: the JUnit split
    is not kept, and the rules only ever look at the sum)."""
    gone = [f for f in tests.failures if f in ids]
    failures = tuple(f for f in tests.failures if f not in ids)
    from_failed = min(len(gone), tests.failed)
    from_errors = min(len(gone) - from_failed, tests.errors)
    # pytest's exit 1 meant "some tests failed"; with none left the run is as good as green
    exit_code = 0 if tests.exit_code == 1 and not failures else tests.exit_code
    return dataclasses.replace(
        tests,
        failed=tests.failed - from_failed,
        errors=tests.errors - from_errors,
        failures=failures,
        exit_code=exit_code,
        quarantined=tuple(sorted(set(tests.quarantined) | set(gone))),
    )
