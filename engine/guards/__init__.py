"""Built-in guards: checks in code (not in rules/, which a human may edit) that run on
every candidate after evaluation. Each returns RuleOutcomes named ``guard-*``.

A failed guard with ``on_fail == "reject"`` rejects whatever the rules say; one with
``"review"`` turns a merge into a review.
"""

from __future__ import annotations

from engine.model import ChangeFacts, Directives, Metrics, RuleOutcome
from engine.vcs import Repository


def run_guards(
    repo: Repository,
    base_commit: str,
    head_commit: str,
    baseline: Metrics,
    candidate: Metrics,
    change: ChangeFacts,
    directives: Directives,
) -> tuple[RuleOutcome, ...]:
    """Every built-in guard's outcome for one candidate (``head_commit`` is the evaluated
    candidate commit, child of ``base_commit``; read files through ``repo``)."""
    outcomes = [
        RuleOutcome(
            id="guard-protected-paths",
            passed=not change.protected,
            on_fail=directives.on_protected,
            detail=(
                "touches protected paths: " + ", ".join(change.protected)
                if change.protected
                else "no protected path touched"
            ),
            values={"protected": list(change.protected)},
        ),
        RuleOutcome(
            id="guard-tests-ran",
            passed=not candidate.tests.timed_out,
            detail=(
                "the test command timed out and was killed"
                if candidate.tests.timed_out
                else f"test command exit code {candidate.tests.exit_code}"
            ),
            values={"timed_out": candidate.tests.timed_out},
        ),
    ]
    return tuple(outcomes)
