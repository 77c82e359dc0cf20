"""Guards that read the two test runs (baseline and candidate) rather than the diff.

``guard-tests-ran``: the candidate's test command timed out (a goal cannot allow it).

``guard-tests-fewer``: the candidate's run collected fewer tests than the baseline's
(tests deleted, hidden from collection, or a collection that broke).

``guard-tests-skipped`` (run part): more tests skipped or xfailed than on the baseline,
however the skip was arranged. Merged with the static findings of :mod:`markers`.

``guard-worktree-tampered``: the candidate's test run changed files in its copy of the
checkout (modified, deleted, symlinked, or created code/configuration) beyond what the
baseline's run does. The copy is thrown away, so nothing reaches the commit; the finding
says the candidate tried, e.g. to rewrite a test or drop a conftest.py mid-run.
"""

from __future__ import annotations

from engine.gate.guards.base import Finding, GuardSpec
from engine.gate.guards.markers import SKIPPED
from engine.model import Metrics

TESTS_RAN = GuardSpec(
    id="guard-tests-ran",
    requirement="the test command finishes within its timeout",
    allowable=False,
)
FEWER = GuardSpec(id="guard-tests-fewer", requirement="the candidate collects no fewer tests")
TAMPERED = GuardSpec(
    id="guard-worktree-tampered", requirement="the test run does not change the code it is testing"
)


def find_timeout(candidate: Metrics) -> list[Finding]:
    if not candidate.tests.timed_out:
        return []
    return [
        Finding(
            guard=TESTS_RAN.id,
            file="<test run>",
            evidence="the test command timed out and was killed",
        )
    ]


def find_fewer(baseline: Metrics, candidate: Metrics) -> list[Finding]:
    before, after = baseline.tests.collected, candidate.tests.collected
    if after >= before:
        return []
    return [
        Finding(guard=FEWER.id, file="<test run>", evidence=f"collected {before} -> {after} tests")
    ]


def find_more_skipped(baseline: Metrics, candidate: Metrics) -> list[Finding]:
    before = baseline.tests.skipped + baseline.tests.xfailed
    after = candidate.tests.skipped + candidate.tests.xfailed
    if after <= before:
        return []
    return [
        Finding(
            guard=SKIPPED.id,
            file="<test run>",
            evidence=f"skipped or xfailed {before} -> {after} tests",
        )
    ]


def find_tampered(baseline: Metrics, candidate: Metrics) -> list[Finding]:
    known = set(baseline.tests.tampered)
    return [
        Finding(guard=TAMPERED.id, file=_path_of(entry), evidence=f"the test run {entry}")
        for entry in candidate.tests.tampered
        if entry not in known
    ]


def _path_of(entry: str) -> str:
    """``modified: a/b.py`` -> ``a/b.py``; ``symlink: x -> /y`` -> ``x``."""
    rest = entry.partition(": ")[2] or entry
    return rest.split(" -> ", 1)[0]
