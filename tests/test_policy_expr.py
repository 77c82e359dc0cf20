"""CEL expressions: compile-time refusals, the paths they read, evaluation errors."""

from __future__ import annotations

from typing import Any

import pytest

from engine.gate.policy.expr import (
    KNOWN_FUNCTIONS,
    ExprError,
    ExprSyntaxError,
    compile_expr,
    referenced_paths,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("roi >", "syntax error at 1:6: the expression ends too early"),
        ("roi > 0.0 &&& true", "syntax error at 1:13: token recognition error at: '& '"),
        ("roi >\n (0.0", "syntax error at 2:6: missing ')' at '<EOF>'"),
        ("candidat.tests.passed > 0", "unknown name 'candidat'; did you mean 'candidate'?"),
        ("x > 0", "unknown name 'x'"),
        ("max(roi, 1.0) > 0.0", "unknown function 'max'"),
        ("roi.startswith('a')", "unknown function 'startswith'; did you mean 'startsWith'?"),
    ],
)
def test_compile_refusals(text: str, message: str) -> None:
    with pytest.raises(ExprSyntaxError) as info:
        compile_expr(text)
    assert str(info.value) == message


def test_syntax_errors_carry_line_and_column() -> None:
    with pytest.raises(ExprSyntaxError) as info:
        compile_expr("roi >\n (0.0")
    assert (info.value.line, info.value.col) == (2, 6)


def test_roots_can_be_restricted() -> None:
    compile_expr("candidate.goal", roots=("candidate",))
    with pytest.raises(ExprSyntaxError, match="unknown name 'roi'"):
        compile_expr("roi", roots=("candidate",))


def test_macro_loop_variables_are_not_roots() -> None:
    expr = compile_expr("change.files.all(f, f.startsWith('engine/')) && [1].exists(n, n > 0)")
    assert expr.evaluate({"change": {"files": ["engine/a.py"]}}) is True


FUNCTION_CASES: list[tuple[str, Any]] = [
    ("size('ab')", 2),
    ("'abc'.contains('b')", True),
    ("'abc'.startsWith('a')", True),
    ("'abc'.endsWith('c')", True),
    ("'abc'.matches('^a.c$')", True),
    ("int(2.7)", 2),
    ("uint(2) == 2u", True),
    ("double(2)", 2.0),
    ("string(3)", "3"),
    ("bytes('a')", b"a"),
    ("type(1) == int", True),
    ("dyn(1)", 1),
    ("duration('90s').getSeconds()", 90),
    ("timestamp('2024-03-05T06:07:08.009Z').getFullYear()", 2024),
    ("timestamp('2024-03-05T06:07:08.009Z').getMonth()", 2),
    ("timestamp('2024-03-05T06:07:08.009Z').getDate()", 5),
    ("timestamp('2024-03-05T06:07:08.009Z').getDayOfMonth()", 4),
    ("timestamp('2024-03-05T06:07:08.009Z').getDayOfWeek()", 2),
    ("timestamp('2024-03-05T06:07:08.009Z').getDayOfYear()", 64),
    ("timestamp('2024-03-05T06:07:08.009Z').getHours()", 6),
    ("timestamp('2024-03-05T06:07:08.009Z').getMinutes()", 7),
    ("timestamp('2024-03-05T06:07:08.009Z').getSeconds()", 8),
    ("timestamp('2024-03-05T06:07:08.009Z').getMilliseconds()", 9),
]


@pytest.mark.parametrize(("text", "expected"), FUNCTION_CASES)
def test_every_known_function_exists(text: str, expected: Any) -> None:
    assert compile_expr(text).evaluate({}) == expected


def test_the_function_table_covers_every_known_function() -> None:
    used = {
        name
        for text, _ in FUNCTION_CASES
        for name in compile_expr(text).program.references()["functions"]
        if name[:1].isalpha()
    }
    assert used == KNOWN_FUNCTIONS


def test_int_and_double_compare() -> None:
    # The reason for this CEL implementation: metrics mix ints and doubles.
    assert compile_expr("candidate.x > baseline.y").evaluate(
        {"candidate": {"x": 2}, "baseline": {"y": 1.5}}
    )


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("roi > 0.0", ("roi",)),
        (
            "candidate.coverage.percent >= baseline.coverage.percent - 0.1",
            ("candidate.coverage.percent", "baseline.coverage.percent"),
        ),
        ("size(change.protected) == 0", ("change.protected",)),
        ("goal.allow.size() > 0", ("goal.allow",)),
        ('"complexity-increase" in goal.allow', ("goal.allow",)),
        ("'candidate.tests' == goal.id", ("goal.id",)),  # names inside strings are text
        ("candidate.tests.passed >= candidate.tests.passed", ("candidate.tests.passed",)),
        ("candidate.coverage.files['a.py'] > 1.0", ("candidate.coverage.files",)),
        ("candidate . lint . violations == 0", ("candidate.lint.violations",)),
        ("[1].exists(goal, goal > 0)", ("goal",)),
    ],
)
def test_referenced_paths(text: str, paths: tuple[str, ...]) -> None:
    assert referenced_paths(text) == paths


CONTEXT: dict[str, Any] = {
    "candidate": {"lint": {"violations": 3, "by_code": {"F401": 2}}, "tests": {"passed": 1}},
    "baseline": {"lint": {"violations": 4}},
    "goal": {"id": "g", "allow": []},
}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "candidate.lnt.violations > 0",
            "no field 'candidate.lnt' (candidate has: lint, tests); did you mean 'candidate.lint'?",
        ),
        (
            "candidate.lint.by_code.E501 > 0",
            "no field 'candidate.lint.by_code.E501' (candidate.lint.by_code has: F401)",
        ),
        ("candidate.lint.by_code['E501'] > 0", "no key 'E501' in a map the expression reads"),
        (
            "delta.lint.violations < 0",
            "no field 'delta' (the context has: baseline, candidate, goal)",
        ),
        (
            "candidate.lint.violations + 0.5 > 1.0",
            "No such overload: the operation is not defined for the given operand types",
        ),
        ("goal.id + 1 == 'x'", "Unsupported operation: string + int"),
        ("candidate.lint.violations / 0 == 1", "division by zero in CEL expression"),
        ("[1][5] == 1", "list index out of bounds: 5"),
        (
            "9223372036854775807 + candidate.lint.violations > 0",
            "Arithmetic overflow in 'add' on 9223372036854775807 and 3",
        ),
        ("goal.id.matches('(')", "Function 'matches' error: '(' not a valid regex"),
    ],
)
def test_evaluation_errors_are_readable(text: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(text).evaluate(CONTEXT)
    assert str(info.value) == message
