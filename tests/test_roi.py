"""ROI = improvement / cost, as a table of (change -> score)."""

from __future__ import annotations

import pytest

from engine.gate.policy import compute_roi
from engine.model import (
    ChangeFacts,
    ComplexityMetrics,
    CoverageMetrics,
    LintMetrics,
    Metrics,
    RoiWeights,
    TestMetrics,
    Usage,
)

BASE = Metrics(
    tests=TestMetrics(passed=10),
    coverage=CoverageMetrics(percent=80.0),
    complexity=ComplexityMetrics(total=50),
    lint=LintMetrics(violations=10),
    goal=1.0,
)
W = RoiWeights()  # complexity 1, coverage 2, lint 1, goal 5, tests 0.5
NONE = ChangeFacts()


def lines(n: int) -> ChangeFacts:
    return ChangeFacts(lines_added=n, empty=n == 0)


def metrics(
    *, passed: int = 10, percent: float = 80.0, total: int = 50, lint: int = 10, goal: float = 1.0
) -> Metrics:
    return Metrics(
        tests=TestMetrics(passed=passed),
        coverage=CoverageMetrics(percent=percent),
        complexity=ComplexityMetrics(total=total),
        lint=LintMetrics(violations=lint),
        goal=goal,
    )


@pytest.mark.parametrize(
    ("name", "candidate", "change", "usage", "seconds", "weights", "score", "improvement", "cost"),
    [
        ("nothing changes", BASE, NONE, Usage(), 0.0, W, 0.0, 0.0, 1.0),
        ("2 lint fixes, 20 lines", metrics(lint=8), lines(20), Usage(), 0.0, W, 1.0, 2.0, 2.0),
        ("3 complexity removed", metrics(total=47), NONE, Usage(), 0.0, W, 3.0, 3.0, 1.0),
        ("+1.5 coverage points", metrics(percent=81.5), NONE, Usage(), 0.0, W, 3.0, 3.0, 1.0),
        ("+0.2 goal metric", metrics(goal=1.2), NONE, Usage(), 0.0, W, 1.0, 1.0, 1.0),
        ("+4 passing tests", metrics(passed=14), NONE, Usage(), 0.0, W, 2.0, 2.0, 1.0),
        ("losing 4 tests", metrics(passed=6), NONE, Usage(), 0.0, W, -2.0, -2.0, 1.0),
        ("complexity added", metrics(total=52), lines(10), Usage(), 0.0, W, -1.3333, -2.0, 1.5),
        (
            "tokens and time cost",
            metrics(lint=6),
            lines(10),
            Usage(tokens_in=1500, tokens_out=500),
            150.0,
            W,
            1.3333,
            4.0,
            3.0,
        ),
        (
            "every term at once",
            metrics(passed=12, percent=81.0, total=48, lint=7, goal=1.5),
            lines(40),
            Usage(tokens_in=1000),
            300.0,
            W,
            2.3333,
            10.5,
            4.5,
        ),
        (
            "weights apply",
            metrics(lint=8),
            NONE,
            Usage(),
            0.0,
            RoiWeights(lint=0.25),
            0.5,
            0.5,
            1.0,
        ),
        (
            "zero weights, zero score",
            metrics(lint=0),
            NONE,
            Usage(),
            0.0,
            RoiWeights(complexity=0, coverage=0, lint=0, goal=0, tests=0),
            0.0,
            0.0,
            1.0,
        ),
    ],
)
def test_roi(
    name: str,
    candidate: Metrics,
    change: ChangeFacts,
    usage: Usage,
    seconds: float,
    weights: RoiWeights,
    score: float,
    improvement: float,
    cost: float,
) -> None:
    roi = compute_roi(BASE, candidate, change, usage, seconds, weights)
    assert (roi.score, roi.improvement, roi.cost) == pytest.approx((score, improvement, cost))
    assert roi.score == round(roi.score, 4)


def test_terms_explain_the_score() -> None:
    roi = compute_roi(
        BASE,
        metrics(passed=12, percent=81.0, total=48, lint=7, goal=1.5),
        lines(40),
        Usage(tokens_in=1000),
        300.0,
        W,
    )
    assert roi.terms == {
        "complexity": 2.0,
        "coverage": 2.0,
        "lint": 3.0,
        "goal": 2.5,
        "tests": 1.0,
        "cost_base": 1.0,
        "cost_lines": 2.0,
        "cost_tokens": 0.5,
        "cost_seconds": 1.0,
    }


def test_roi_is_deterministic() -> None:
    args = (BASE, metrics(lint=3, percent=80.3), lines(7), Usage(tokens_out=333), 12.5, W)
    assert len({compute_roi(*args).score for _ in range(5)}) == 1
    # (7 lint + 0.6 coverage) / (1 + 7/20 + 333/2000 + 12.5/300)
    assert compute_roi(*args) == compute_roi(*args)
    assert (compute_roi(*args).improvement, compute_roi(*args).cost) == (7.6, 1.5582)
    assert compute_roi(*args).score == 4.8775
