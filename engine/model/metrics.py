"""What a measurement of one commit found: tests, coverage, complexity, lint, security.

Plain nested dataclasses so that the rule engine sees them as maps
(``candidate.tests.failed``, ``delta.coverage.percent``) through :func:`engine.model.to_data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class TestMetrics:
    __test__ = False  # not a pytest class

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    collected: int = 0
    duration: float = 0.0
    exit_code: int = 0
    timed_out: bool = False
    time_limit: float = 0.0  # the wall-clock limit applied to this run (seconds)
    command: str = ""  # the test command that ran (after ``auto`` discovery)
    command_reason: str = ""  # why that command (what discovery found)
    failures: tuple[str, ...] = ()  # node ids of failed/errored tests
    quarantined: tuple[str, ...] = ()  # failing on the baseline too: not blamed on a candidate
    tampered: tuple[str, ...] = ()  # what the run changed in its copy of the checkout
    output_tail: str = ""  # last lines of the test output (for the log and the refine loop)
    first_failure: str = ""  # "node id: error line" of the first failing test (the cause)
    # doctests of touched modules ratchet added (the baseline never ran them): outside the
    # counts above unless they failed or errored, so they can neither pad nor skew them
    doctests_added: int = 0
    # doctest failures in touched modules that fail on the base too, from a docstring the
    # candidate left as it was (engine.gate.evaluation.base_doctests): quarantined
    doctests_failing_on_base: tuple[str, ...] = ()
    # the cascade stage these numbers come from: "full" (the whole suite under coverage,
    # the only stage that may justify a merge), "selected" (the tests covering the change,
    # fail-fast: a rejection), "untraced" (the whole suite without coverage failed while its
    # run under coverage went on: a rejection) or "syntax" (a file did not compile)
    stage: str = "full"
    selected: int = 0  # node ids / test files the "selected" stage was given (0: it did not run)


@dataclass(frozen=True, kw_only=True)
class CoverageMetrics:
    percent: float = 0.0
    covered_lines: int = 0
    num_statements: int = 0
    files: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DiffCoverage:
    """Coverage seen through the diff between baseline and candidate (candidate side only).

    ``changed``: changed or added executable lines of non-test code; ``uncovered``: those
    the candidate's test run did not execute (``lines`` lists them as ``path:line``, at most
    50); ``percent``: covered share of ``changed`` (100 when nothing changed).
    Pre-existing lines (present on both sides, mapped through the diff): ``gained`` became
    covered, ``lost`` lost their coverage; ``removed_uncovered`` / ``removed_covered`` were
    deleted. ``gain`` = 100 * (gained - lost + removed_uncovered) / baseline statements:
    the only coverage gain ROI rewards (lines the candidate adds earn nothing).
    ``measured`` is false when per-line data was missing on either side.
    """

    measured: bool = False
    changed: int = 0
    uncovered: int = 0
    percent: float = 100.0
    lines: tuple[str, ...] = ()
    gained: int = 0
    lost: int = 0
    removed_uncovered: int = 0
    removed_covered: int = 0
    gain: float = 0.0


@dataclass(frozen=True, kw_only=True)
class BehaviourMetrics:
    """The replay of calls recorded on the baseline against the candidate.

    ``checked``: true when the goal asked for it and functions were changed; ``functions``:
    the changed functions (``path::qualname``); ``untested``: those with no recorded call;
    ``calls``: calls replayed; ``diverged``: calls whose result or exception type differed;
    ``first_divergence``: the first such call, as evidence; ``problems``: why some part of
    the check could not run (then the rule treats the check as failed); ``recorded_on``:
    whose run recorded the calls — ``"baseline"`` (replayed on the candidate) or
    ``"candidate"`` (its traced reaching run; replayed on the baseline), "" when none ran."""

    checked: bool = False
    functions: tuple[str, ...] = ()
    untested: tuple[str, ...] = ()
    calls: int = 0
    diverged: int = 0
    first_divergence: str = ""
    problems: tuple[str, ...] = ()
    recorded_on: str = ""


@dataclass(frozen=True, kw_only=True)
class ComplexityMetrics:
    total: int = 0
    max: int = 0
    mean: float = 0.0
    blocks: int = 0
    mi: float = 100.0  # mean maintainability index over files


@dataclass(frozen=True, kw_only=True)
class LintMetrics:
    violations: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    unformatted: int = 0  # files `ruff format --check` would reformat


@dataclass(frozen=True, kw_only=True)
class SecurityMetrics:
    findings: int = 0  # bandit findings (all severities)
    high: int = 0
    by_test: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Metrics:
    commit: str = ""
    tests: TestMetrics = field(default_factory=TestMetrics)
    coverage: CoverageMetrics = field(default_factory=CoverageMetrics)
    complexity: ComplexityMetrics = field(default_factory=ComplexityMetrics)
    lint: LintMetrics = field(default_factory=LintMetrics)
    security: SecurityMetrics = field(default_factory=SecurityMetrics)
    diff_coverage: DiffCoverage = field(default_factory=DiffCoverage)
    behaviour: BehaviourMetrics = field(default_factory=BehaviourMetrics)
    goal: float = 0.0  # the goal's own metric, when it has one
    sandbox: str = "bwrap"  # "bwrap" or "unsafe-none"
    seconds: float = 0.0  # wall clock spent measuring
    # what the numbers do not say: how coverage was measured, skipped files, tool problems
    notes: tuple[str, ...] = ()
