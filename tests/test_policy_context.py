"""The map rules see: roots, deltas, doubles where the model says float, path checks."""

from __future__ import annotations

from typing import Any

import pytest

from engine.gate.policy import ROOTS, build_context, compile_expr, numeric_delta, unknown_paths
from engine.model import (
    ChangeFacts,
    CoverageMetrics,
    Goal,
    LintMetrics,
    Metrics,
    TestMetrics,
)

GOAL = Goal(id="g", description="d", allow=("complexity-increase",))


def test_context_roots() -> None:
    ctx = build_context(
        baseline=Metrics(),
        candidate=Metrics(),
        change=ChangeFacts(files=("a.py",), lines_added=3, lines_removed=1, empty=False),
        goal=GOAL,
        cost={"tokens_in": 10, "usd": 0.01},
        roi=1,
    )
    assert tuple(ctx) == ROOTS
    assert ctx["change"]["lines"] == 4
    assert ctx["change"]["files"] == ["a.py"]
    assert ctx["goal"]["allow"] == ["complexity-increase"]
    assert ctx["cost"] == {"tokens_in": 10, "usd": 0.01}
    assert ctx["roi"] == 1.0 and isinstance(ctx["roi"], float)


def test_float_fields_are_doubles_even_when_python_holds_ints() -> None:
    # ints are valid floats for type checkers, and JSON round trips produce them too
    metrics = Metrics(coverage=CoverageMetrics(percent=100, files={"a.py": 100}), goal=3)
    ctx = build_context(
        baseline=metrics, candidate=metrics, change=ChangeFacts(), goal=GOAL, cost={}, roi=0
    )
    assert repr(ctx["candidate"]["coverage"]["percent"]) == "100.0"
    assert repr(ctx["candidate"]["coverage"]["files"]["a.py"]) == "100.0"
    assert repr(ctx["candidate"]["goal"]) == "3.0"
    assert repr(ctx["delta"]["coverage"]["percent"]) == "0.0"
    # ... so CEL arithmetic that mixes in a double literal works:
    assert compile_expr("candidate.coverage.percent - 0.1 < 100.0").evaluate(ctx) is True


@pytest.mark.parametrize(
    ("base", "cand", "delta"),
    [
        ({"a": 1, "b": 2.5}, {"a": 3, "b": 1.0}, {"a": 2, "b": -1.5}),
        ({"x": 81.2}, {"x": 79.9}, {"x": -1.3}),  # rounded: not -1.3000000000000114
        ({"ok": True, "s": "x", "l": [1]}, {"ok": False, "s": "y", "l": [2]}, {}),
        ({"t": {"n": 1, "s": "a"}}, {"t": {"n": 4, "s": "b"}}, {"t": {"n": 3}}),
        (
            {"files": {"a.py": 50.0, "b.py": 10.0}},
            {"files": {"a.py": 75.0, "c.py": 20.0}},
            {"files": {"a.py": 25.0, "b.py": -10.0, "c.py": 20.0}},
        ),
        ({"files": {}}, {"files": {}}, {"files": {}}),  # an empty map of numbers stays
        ({"n": 1}, {}, {"n": -1}),
        ({"n": None}, {"n": None}, {}),
    ],
)
def test_numeric_delta(base: dict[str, Any], cand: dict[str, Any], delta: dict[str, Any]) -> None:
    assert numeric_delta(base, cand) == delta


def test_delta_of_metrics() -> None:
    base = Metrics(
        tests=TestMetrics(passed=3, timed_out=False), lint=LintMetrics(by_code={"F401": 2})
    )
    cand = Metrics(
        tests=TestMetrics(passed=5, timed_out=True), lint=LintMetrics(by_code={"I001": 1})
    )
    delta = build_context(
        baseline=base, candidate=cand, change=ChangeFacts(), goal=GOAL, cost={}, roi=0.0
    )["delta"]
    assert delta["tests"]["passed"] == 2
    assert "timed_out" not in delta["tests"] and "failures" not in delta["tests"]
    assert delta["lint"]["by_code"] == {"F401": -2, "I001": 1}
    assert "commit" not in delta and "sandbox" not in delta


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("candidate.tests.failed == 0 && delta.coverage.percent >= 0.0", []),
        ("change.lines < 10 && size(change.files) < 3", []),
        ("candidate.lint.by_code.F401 == 0", []),  # free-keyed map
        ("delta.coverage.files.anything > 0.0", []),
        ("goal.options.select.size() > 0", []),
        ("cost.whatever > 1", []),
        (
            "candidate.test.failed == 0",
            [
                "no field 'candidate.test' (candidate has: behaviour, commit, complexity, "
                "coverage, diff_coverage, goal, lint, notes, sandbox, seconds, security, tests); "
                "did you mean 'candidate.tests'?"
            ],
        ),
        (
            "delta.tests.timed_out",
            [
                "no field 'delta.tests.timed_out' (delta.tests has: collected, doctests_added, "
                "duration, errors, exit_code, failed, passed, selected, skipped, time_limit, "
                "xfailed); "
                "did you mean 'delta.tests.time_limit'?"
            ],
        ),
        ("change.files.count > 0", ["'change.files' is a list; it has no field 'count'"]),
        ("roi.value > 0.0", ["'roi' is a scalar; it has no field 'value'"]),
        (
            "change.lnes > 1 && goal.prio > 1",
            [
                "no field 'change.lnes' (change has: empty, files, findings, lines, lines_added, "
                "lines_removed, protected, symbols, tests_touched); did you mean 'change.lines'?",
                "no field 'goal.prio' (goal has: allow, answers, behaviour, description, "
                "done_when, id, "
                "max_attempts, metric, options, priority, provider, scope, status); did you mean "
                "'goal.priority'?",
            ],
        ),
    ],
)
def test_unknown_paths(text: str, problems: list[str]) -> None:
    assert unknown_paths(compile_expr(text)) == problems
