"""The rule engine: every rule over one context -> a :class:`~engine.model.Decision`.

- Every rule is evaluated, none short-circuits the others, so the record shows all of them.
- A rule whose ``when`` is false is not applicable: ``applicable=False, passed=True``.
- A rule passes when ``require`` is exactly ``true``. Any other value, or an evaluation
  error (missing field, type mismatch, invalid expression), fails the rule with the error
  as its detail: the engine never raises.
- Decision: a failed ``on_fail: reject`` rule -> ``reject``; else a failed ``review`` rule
  or ``merge_mode == "review"`` -> ``review``; else ``merge``.

Each outcome's ``detail`` is one sentence with the values the rule read, e.g.
``coverage-ratchet: candidate.coverage.percent=79.9 vs baseline.coverage.percent=81.2
(required: candidate.coverage.percent >= baseline.coverage.percent - 0.1)``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from engine.gate.policy.expr import CompiledExpr, ExprError, compile_expr, resolve
from engine.model import Decision, Goal, Rule, RuleOutcome

_MAX_LIST_ITEMS = 5
_MAX_TEXT = 60


def decide(
    rules: Sequence[Rule],
    context: Mapping[str, Any],
    *,
    merge_mode: Literal["auto", "review"] = "auto",
) -> Decision:
    """Evaluate every rule over ``context`` (see ``policy.context``) and decide."""
    outcomes = tuple(evaluate_rule(rule, context) for rule in rules)
    failed = [o for o in outcomes if o.applicable and not o.passed]
    if any(o.on_fail == "reject" for o in failed):
        kind: Literal["merge", "reject", "review"] = "reject"
    elif failed or merge_mode == "review":
        kind = "review"
    else:
        kind = "merge"
    return Decision(kind=kind, outcomes=outcomes)


def evaluate_rule(rule: Rule, context: Mapping[str, Any]) -> RuleOutcome:
    """One rule's outcome; never raises."""

    def outcome(
        passed: bool, detail: str, values: dict[str, Any], applicable: bool = True
    ) -> RuleOutcome:
        return RuleOutcome(
            id=rule.id,
            passed=passed,
            detail=f"{rule.id}: {detail}",
            on_fail=rule.on_fail,
            values=values,
            applicable=applicable,
        )

    required = f"(required: {_squash(rule.require)})"
    if rule.when:
        try:
            when = _compiled(rule.when)
            applies = when.evaluate(context)
        except (ValueError, ExprError) as exc:
            return outcome(False, f"error in 'when': {exc} {required}", {})
        if applies is not True:
            values = _values(when, context)
            seen = f" ({_show_values(values)})" if values else ""
            detail = f"not applicable: {_squash(rule.when)} is false{seen}"
            return outcome(True, detail, values, applicable=False)
    try:
        expr = _compiled(rule.require)
    except ValueError as exc:
        return outcome(False, f"error: {exc} {required}", {})
    values = _values(expr, context)
    seen = f"{_show_values(values)} " if values else ""
    try:
        result = expr.evaluate(context)
    except ExprError as exc:
        return outcome(False, f"error: {exc}; {seen}{required}", values)
    if not isinstance(result, bool):
        problem = f"'require' gave {_show(result)}, not true or false"
        return outcome(False, f"error: {problem}; {seen}{required}", values)
    return outcome(result, f"{seen}{required}", values)


def goal_met(goal: Goal, context: Mapping[str, Any]) -> bool:
    """True when ``goal.done_when`` is set and evaluates to exactly ``true``.

    An expression that cannot be evaluated counts as "not met": the goal stays active
    (config validation catches typos long before this).
    """
    if not goal.done_when:
        return False
    try:
        return _compiled(goal.done_when).evaluate(context) is True
    except (ValueError, ExprError):
        return False


def goal_metric(goal: Goal, context: Mapping[str, Any]) -> float | None:
    """``goal.metric`` over ``context`` as a float; None when unset or not a number."""
    if not goal.metric:
        return None
    try:
        value = _compiled(goal.metric).evaluate(context)
    except (ValueError, ExprError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> CompiledExpr:
    return compile_expr(text)


def _values(expr: CompiledExpr, context: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path in expr.paths:
        found, value = resolve(path, context)
        if found:
            values[path] = value
    return values


def _show_values(values: Mapping[str, Any]) -> str:
    shown = [f"{path}={_show(value)}" for path, value in values.items()]
    tails = {path.partition(".")[2] for path in values}
    # The same field on two sides (candidate.x, baseline.x) reads best as "this vs that".
    return " vs ".join(shown) if len(shown) == 2 and len(tails) == 1 else ", ".join(shown)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(round(value, 4))
    if isinstance(value, str):
        text = value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 1] + "…"
        return f'"{text}"'
    if isinstance(value, list | tuple):
        items = [_show(v) for v in value[:_MAX_LIST_ITEMS]]
        more = f", … ({len(value)} items)" if len(value) > _MAX_LIST_ITEMS else ""
        return f"[{', '.join(items)}{more}]"
    if isinstance(value, Mapping):
        keys = list(value)[:_MAX_LIST_ITEMS]
        items = [f"{k}: {_show(value[k])}" for k in keys]
        more = f", … ({len(value)} keys)" if len(value) > _MAX_LIST_ITEMS else ""
        return "{" + ", ".join(items) + more + "}"
    return str(value)


def _squash(text: str) -> str:
    return " ".join(text.split())
