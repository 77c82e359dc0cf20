"""``guard-behaviour-preserved``: the outcome of replaying the baseline's recorded calls.

- not checked (the goal has ``behaviour: off``, the plan is the ruff fixer's, or it changed
  no function):
  passes, not applicable;
- a call whose result, exception type or argument state differs -> fails with
  ``on_fail: reject``, the first diverging call as evidence;
- no divergence, but a changed function had no recorded call (untested for this rule) or
  part of the check could not run -> fails with ``on_fail: review``;
- otherwise passes, saying how many calls were replayed.
"""

from __future__ import annotations

from engine.model import Metrics, RuleOutcome

ID = "guard-behaviour-preserved"


def behaviour_outcome(candidate: Metrics) -> RuleOutcome:
    b = candidate.behaviour
    values = {
        "functions": list(b.functions),
        "untested": list(b.untested),
        "calls": b.calls,
        "diverged": b.diverged,
        "first_divergence": b.first_divergence,
        "problems": list(b.problems),
    }
    if not b.checked:
        return RuleOutcome(
            id=ID, passed=True, applicable=False, values=values,
            detail="not applicable: no behaviour check for this goal or change",
        )  # fmt: skip
    if b.diverged:
        return RuleOutcome(
            id=ID, passed=False, on_fail="reject", values=values,
            detail=f"behaviour changed: {b.diverged} of {b.calls} recorded calls differ; "
            f"first: {b.first_divergence}",
        )  # fmt: skip
    if b.untested or b.problems:
        why = []
        if b.untested:
            why.append("no recorded call (untested for this rule): " + ", ".join(b.untested[:5]))
        why += list(b.problems[:3])
        return RuleOutcome(
            id=ID, passed=False, on_fail="review", values=values,
            detail="behaviour not fully checked: " + "; ".join(why),
        )  # fmt: skip
    return RuleOutcome(
        id=ID, passed=True, values=values,
        detail=f"ok: {b.calls} recorded calls of {len(b.functions)} changed functions "
        "behave as on the baseline",
    )  # fmt: skip
