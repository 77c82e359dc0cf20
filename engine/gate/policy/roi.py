"""Return on investment of a candidate: how much better per unit of effort. Deterministic.

The formula (weights ``w`` come from ``directives.roi``; Δ is candidate - baseline)::

    improvement = w.complexity * (-Δ complexity.total)     # complexity removed
                + w.coverage   * coverage_gain              # see below: cannot be padded
                + w.lint       * (-Δ lint.violations)      # lint violations removed
                + w.goal       * ( Δ goal)                 # the goal's own metric gained
                + w.tests      * ( Δ tests.passed)         # passing tests added

    cost        = 1
                + change.lines / 20                        # lines added + removed
                + (tokens_in + tokens_out) / 2000          # model tokens spent
                + seconds / 300                            # wall clock spent on the cycle

    score       = round(improvement / cost, 4)

``coverage_gain`` is ``candidate.diff_coverage.gain`` (engine.gate.evaluation.diffcov)::

    coverage_gain = 100 * (gained - lost + removed_uncovered) / baseline statements

where ``gained``/``lost`` count *pre-existing* statements that became covered/uncovered and
``removed_uncovered`` the uncovered statements the candidate deleted. Lines the candidate
adds are never rewarded (adding always-executed lines gains nothing); the ``diff-coverage``
rule judges them. Without per-line data on both sides (``diff_coverage.measured`` false) it
falls back to Δ coverage.percent.

A change that improves nothing scores 0; one that makes things worse scores below 0; the
same improvement bought with a smaller diff, fewer tokens or less time scores higher. The
cost is at least 1, so the score is never larger than the improvement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.model import ChangeFacts, Metrics, RoiWeights, Usage

LINES_PER_COST_UNIT = 20
TOKENS_PER_COST_UNIT = 2000
SECONDS_PER_COST_UNIT = 300


@dataclass(frozen=True, kw_only=True)
class Roi:
    """``score = improvement / cost``; ``terms`` holds each weighted part of both."""

    score: float
    improvement: float
    cost: float
    terms: dict[str, float] = field(default_factory=dict)


def coverage_gain(baseline: Metrics, candidate: Metrics) -> float:
    """Percentage points of honest coverage gain (module doc)."""
    if candidate.diff_coverage.measured:
        return candidate.diff_coverage.gain
    return candidate.coverage.percent - baseline.coverage.percent


def compute_roi(
    baseline: Metrics,
    candidate: Metrics,
    change: ChangeFacts,
    usage: Usage,
    seconds: float,
    weights: RoiWeights,
) -> Roi:
    """The ROI of ``candidate`` over ``baseline`` (formula in the module docstring)."""
    gains = {
        "complexity": weights.complexity
        * -(candidate.complexity.total - baseline.complexity.total),
        "coverage": weights.coverage * coverage_gain(baseline, candidate),
        "lint": weights.lint * -(candidate.lint.violations - baseline.lint.violations),
        "goal": weights.goal * (candidate.goal - baseline.goal),
        "tests": weights.tests * (candidate.tests.passed - baseline.tests.passed),
    }
    costs = {
        "cost_base": 1.0,
        "cost_lines": change.lines / LINES_PER_COST_UNIT,
        "cost_tokens": (usage.tokens_in + usage.tokens_out) / TOKENS_PER_COST_UNIT,
        "cost_seconds": max(seconds, 0.0) / SECONDS_PER_COST_UNIT,
    }
    improvement = float(sum(gains.values()))
    cost = float(sum(costs.values()))
    terms = {name: round(float(value), 4) for name, value in {**gains, **costs}.items()}
    # ``+ 0.0`` turns a -0.0 (no change, negative weight) into 0.0 for stable output.
    score = round(improvement / cost, 4) + 0.0
    # improvement, cost and terms are rounded for display only; the score uses exact values.
    return Roi(score=score, improvement=round(improvement, 4), cost=round(cost, 4), terms=terms)
