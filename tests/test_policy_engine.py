"""The rule engine as data: metrics before/after + rules -> decision, with the default rules
that ``ratchet init`` writes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import pytest

from engine.config.init import template_text
from engine.config.rules import check_rules
from engine.config.yamlpos import load_yaml
from engine.gate.policy import (
    build_context,
    compute_roi,
    decide,
    goal_met,
    goal_metric,
    tip_context,
)
from engine.model import (
    ChangeFacts,
    ComplexityMetrics,
    CoverageMetrics,
    Goal,
    LintMetrics,
    Metrics,
    RoiWeights,
    Rule,
    SecurityMetrics,
    TestMetrics,
    Usage,
)


def default_rules() -> tuple[Rule, ...]:
    rules, issues = check_rules(
        load_yaml(template_text("default-rules.yaml"), "rules/default.yaml")
    )
    assert issues == []
    return rules


DEFAULT_RULES = default_rules()
GOAL = Goal(id="lint-clean", description="d")
GREEN = TestMetrics(passed=10, collected=10, exit_code=0)
NO_TESTS = TestMetrics(collected=0, exit_code=5)
BASE = Metrics(
    tests=GREEN,
    coverage=CoverageMetrics(percent=81.2, covered_lines=812, num_statements=1000),
    complexity=ComplexityMetrics(total=40),
    lint=LintMetrics(violations=5),
)
SMALL = ChangeFacts(files=("pkg/a.py",), lines_added=2, lines_removed=2, empty=False)


def context(
    baseline: Metrics, candidate: Metrics, change: ChangeFacts = SMALL, goal: Goal = GOAL
) -> dict[str, Any]:
    roi = compute_roi(baseline, candidate, change, Usage(), 10.0, RoiWeights())
    return build_context(
        baseline=baseline, candidate=candidate, change=change, goal=goal, cost={}, roi=roi.score
    )


def assert_decision(
    baseline: Metrics,
    candidate: Metrics,
    expected: Literal["merge", "reject", "review"],
    failed: list[str],
    *,
    change: ChangeFacts = SMALL,
    goal: Goal = GOAL,
    rules: tuple[Rule, ...] = DEFAULT_RULES,
    merge_mode: Literal["auto", "review"] = "auto",
) -> None:
    decision = decide(rules, context(baseline, candidate, change, goal), merge_mode=merge_mode)
    assert (decision.kind, [o.id for o in decision.failed]) == (expected, failed), [
        o.detail for o in decision.failed
    ]
    assert [o.id for o in decision.outcomes] == [r.id for r in rules]  # every rule, in order


def lint(n: int) -> LintMetrics:
    return LintMetrics(violations=n)


CASES: list[tuple[str, Metrics, Metrics, dict[str, Any], str, list[str]]] = [
    ("lint fix", BASE, replace(BASE, lint=lint(3)), {}, "merge", []),
    (
        "lint fix in a repo without tests (pytest exit 5 on both sides)",
        replace(BASE, tests=NO_TESTS, coverage=CoverageMetrics()),
        replace(BASE, tests=NO_TESTS, coverage=CoverageMetrics(), lint=lint(3)),
        {},
        "merge",
        [],
    ),
    (
        "deleting every test is not a green run",
        BASE,
        replace(BASE, tests=NO_TESTS, lint=lint(3)),
        {},
        "reject",
        ["tests-pass", "tests-not-fewer", "positive-roi"],
    ),
    (
        "a failing test",
        BASE,
        replace(BASE, lint=lint(3), tests=replace(GREEN, passed=9, failed=1, exit_code=1)),
        {},
        "reject",
        ["tests-pass", "tests-not-fewer"],
    ),
    (
        "a collection error",
        BASE,
        replace(BASE, lint=lint(3), tests=replace(GREEN, errors=1, exit_code=2)),
        {},
        "reject",
        ["tests-pass"],
    ),
    (
        "the test run timed out",
        BASE,
        replace(BASE, lint=lint(3), tests=replace(GREEN, timed_out=True, exit_code=-9)),
        {},
        "reject",
        ["tests-pass"],
    ),
    (
        "coverage drops 1.3 points",
        BASE,
        replace(
            BASE,
            lint=lint(0),
            coverage=CoverageMetrics(percent=79.9, covered_lines=799, num_statements=1000),
        ),
        {},
        "reject",
        ["coverage-ratchet"],
    ),
    (
        "covered code deleted: percent drops, no line lost its test",
        BASE,
        replace(
            BASE,
            lint=lint(0),
            coverage=CoverageMetrics(percent=80.0, covered_lines=752, num_statements=940),
        ),
        {},
        "merge",
        [],
    ),
    (
        "coverage within the 0.1 tolerance",
        BASE,
        replace(BASE, lint=lint(3), coverage=CoverageMetrics(percent=81.15)),
        {},
        "merge",
        [],
    ),
    (
        "coverage given as an int is still compared as a double",
        replace(BASE, coverage=CoverageMetrics(percent=100)),
        replace(BASE, lint=lint(3), coverage=CoverageMetrics(percent=100)),
        {},
        "merge",
        [],
    ),
    (
        "complexity grows",
        BASE,
        replace(BASE, lint=lint(0), complexity=ComplexityMetrics(total=41)),
        {},
        "reject",
        ["complexity-ratchet"],
    ),
    (
        "complexity grows, and the goal allows it",
        BASE,
        replace(BASE, lint=lint(0), complexity=ComplexityMetrics(total=41)),
        {"goal": replace(GOAL, allow=("complexity-increase",))},
        "merge",
        [],
    ),
    (
        "more lint violations",
        BASE,
        replace(BASE, lint=lint(6), complexity=ComplexityMetrics(total=30)),
        {},
        "reject",
        ["lint-ratchet"],
    ),
    (
        "a new high-severity finding",
        BASE,
        replace(BASE, lint=lint(3), security=SecurityMetrics(findings=1, high=1)),
        {},
        "reject",
        ["security-ratchet"],
    ),
    (
        "a protected path touched: left for a human, never merged",
        BASE,
        replace(BASE, lint=lint(3)),
        {"change": replace(SMALL, protected=("rules/default.yaml",))},
        "review",
        ["no-protected-paths"],
    ),
    (
        "an empty change",
        BASE,
        BASE,
        {"change": ChangeFacts()},
        "reject",
        ["not-empty", "positive-roi"],
    ),
    (
        "a neutral change",
        BASE,
        BASE,
        {},
        "reject",
        ["positive-roi"],
    ),
    (
        "a neutral change, and the goal accepts zero ROI",
        BASE,
        BASE,
        {"goal": replace(GOAL, allow=("zero-roi",))},
        "merge",
        [],
    ),
    (
        "a newly skipped test asks for review",
        BASE,
        replace(BASE, lint=lint(3), tests=replace(GREEN, passed=10, skipped=1, collected=11)),
        {},
        "review",
        ["no-new-skips"],
    ),
    (
        "a new xfail is a skip too",
        BASE,
        replace(BASE, lint=lint(3), tests=replace(GREEN, xfailed=1, collected=11)),
        {},
        "review",
        ["no-new-skips"],
    ),
    (
        "review and reject failures together: reject wins",
        BASE,
        replace(BASE, lint=lint(3), tests=replace(GREEN, skipped=1, failed=1, exit_code=1)),
        {},
        "reject",
        ["tests-pass", "no-new-skips"],
    ),
]


@pytest.mark.parametrize(
    ("baseline", "candidate", "extra", "expected", "failed"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_default_rules(
    baseline: Metrics, candidate: Metrics, extra: dict[str, Any], expected: str, failed: list[str]
) -> None:
    assert_decision(baseline, candidate, expected, failed, **extra)  # type: ignore[arg-type]


def test_merge_mode_review_holds_a_passing_candidate() -> None:
    assert_decision(BASE, replace(BASE, lint=lint(3)), "review", [], merge_mode="review")


# --------------------------------------------------------------------------- details


def outcome_of(rule_id: str, baseline: Metrics, candidate: Metrics, **extra: Any) -> Any:
    decision = decide(DEFAULT_RULES, context(baseline, candidate, **extra))
    return next(o for o in decision.outcomes if o.id == rule_id)


def test_detail_shows_the_values_the_rule_saw() -> None:
    outcome = outcome_of("lint-ratchet", BASE, replace(BASE, lint=lint(7)))
    assert not outcome.passed
    assert outcome.detail == (
        "lint-ratchet: candidate.lint.violations=7 vs baseline.lint.violations=5 "
        "(required: candidate.lint.violations <= baseline.lint.violations)"
    )
    assert outcome.values == {
        "candidate.lint.violations": 7,
        "baseline.lint.violations": 5,
    }


@pytest.mark.parametrize(
    ("rule_id", "extra", "detail"),
    [
        (
            "no-protected-paths",
            {"change": replace(SMALL, protected=("goals.yaml", "rules/x.yaml"))},
            'no-protected-paths: change.protected=["goals.yaml", "rules/x.yaml"] '
            "(required: size(change.protected) == 0)",
        ),
        (
            "complexity-ratchet",
            {},
            "complexity-ratchet: goal.allow=[], candidate.complexity.total=40, "
            'baseline.complexity.total=40 (required: "complexity-increase" in goal.allow || '
            "candidate.complexity.total <= baseline.complexity.total)",
        ),
        (
            "tests-pass",
            {},
            "tests-pass: candidate.tests.failed=0, candidate.tests.errors=0, "
            "candidate.tests.timed_out=false, candidate.tests.exit_code=0, "
            "baseline.tests.exit_code=0 (required: candidate.tests.failed + "
            "candidate.tests.errors == 0 && !candidate.tests.timed_out && "
            "(candidate.tests.exit_code == 0 || (candidate.tests.exit_code == 5 && "
            "baseline.tests.exit_code == 5)))",
        ),
        (
            "positive-roi",
            {},
            'positive-roi: roi=0.0, goal.allow=[] (required: roi > 0.0 || ("zero-roi" in '
            "goal.allow && roi >= 0.0))",
        ),
    ],
)
def test_details(rule_id: str, extra: dict[str, Any], detail: str) -> None:
    assert outcome_of(rule_id, BASE, BASE, **extra).detail == detail


RULE = Rule(id="r", description="d", require="candidate.lint.violations == 0")


@pytest.mark.parametrize(
    ("rule", "passed", "applicable", "detail"),
    [
        (
            RULE,
            False,
            True,
            "r: candidate.lint.violations=5 (required: candidate.lint.violations == 0)",
        ),
        (
            replace(RULE, when="goal.id == 'other'"),
            True,
            False,
            "r: not applicable: goal.id == 'other' is false (goal.id=\"lint-clean\")",
        ),
        (
            replace(RULE, when="goal.id == 'lint-clean'"),
            False,
            True,
            "r: candidate.lint.violations=5 (required: candidate.lint.violations == 0)",
        ),
        (
            replace(RULE, require="candidate.lint.violatons == 0"),
            False,
            True,
            "r: error: no field 'candidate.lint.violatons' (candidate.lint has: by_code, "
            "unformatted, violations); did you mean 'candidate.lint.violations'?; (required: "
            "candidate.lint.violatons == 0)",
        ),
        (
            replace(RULE, require="candidate.lint.violations"),
            False,
            True,
            "r: error: 'require' gave 5, not true or false; candidate.lint.violations=5 "
            "(required: candidate.lint.violations)",
        ),
        (
            replace(RULE, require="candidate.lint.violations >"),
            False,
            True,
            "r: error: syntax error at 1:28: the expression ends too early (required: "
            "candidate.lint.violations >)",
        ),
        (
            replace(RULE, when="goal.nope"),
            False,
            True,
            "r: error in 'when': no field 'goal.nope' (goal has: allow, answers, behaviour, "
            "description, done_when, id, max_attempts, metric, options, priority, provider, "
            "scope, status); did you mean 'goal.scope'? (required: candidate.lint.violations == 0)",
        ),
    ],
)
def test_rule_outcomes_never_raise(rule: Rule, passed: bool, applicable: bool, detail: str) -> None:
    (outcome,) = decide([rule], context(BASE, BASE)).outcomes
    assert (outcome.passed, outcome.applicable, outcome.detail) == (passed, applicable, detail)


def test_a_broken_rule_fails_with_its_on_fail() -> None:
    broken = replace(RULE, require="nope.x", on_fail="review")
    assert decide([broken], context(BASE, BASE)).kind == "review"


def test_not_applicable_rules_do_not_count_as_failed() -> None:
    rule = replace(RULE, when="false")
    decision = decide([rule], context(BASE, BASE))
    assert (decision.kind, decision.failed) == ("merge", ())


def test_no_rules_merge() -> None:
    assert decide([], context(BASE, BASE)).kind == "merge"


# --------------------------------------------------------------------------- goals


@pytest.mark.parametrize(
    ("done_when", "met"),
    [
        (None, False),
        ("candidate.lint.violations == 5", True),
        ("candidate.lint.violations == 0", False),
        ("candidate.lint.violations", False),  # not a boolean: not met
        ("candidate.nothing == 0", False),  # an error: not met, the goal stays active
    ],
)
def test_goal_met(done_when: str | None, met: bool) -> None:
    goal = replace(GOAL, done_when=done_when)
    assert goal_met(goal, tip_context(BASE, goal)) is met


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        (None, None),
        ("-candidate.lint.violations", -5.0),
        ("candidate.coverage.percent", 81.2),
        ("candidate.lint.violations > 1", None),  # a boolean is not a number
        ("candidate.nothing", None),
    ],
)
def test_goal_metric(metric: str | None, value: float | None) -> None:
    goal = replace(GOAL, metric=metric)
    assert goal_metric(goal, tip_context(BASE, goal)) == value
