"""Frozen value types shared by every layer. No I/O here, no imports of the rest of the engine.

One module per concept; everything is re-exported here, so ``from engine.model import X``
is the way to import:

- :mod:`~engine.model.config`: what humans write (Goal, Directives and its parts, Rule);
- :mod:`~engine.model.plan`: the edit plan (Edit, Proposal) and a provider's Usage;
- :mod:`~engine.model.editops`: the plan's ops and edit formats (EDIT_OPS, EDIT_FORMATS);
- :mod:`~engine.model.metrics`: what a measurement found (Metrics and its parts);
- :mod:`~engine.model.change`: what a candidate's diff touches (ChangeFacts);
- :mod:`~engine.model.outcome`: what a cycle decided and did (RuleOutcome, Decision,
  CycleReport);
- :mod:`~engine.model.codec`: values <-> plain data (:func:`to_data`, :func:`metrics_from_data`).

A name is imported from its module on first use (``_HOME``), so a command pays only for
the types it touches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.lazy import lazy_getattr

if TYPE_CHECKING:
    from engine.model.change import ChangeFacts
    from engine.model.codec import metrics_from_data, to_data
    from engine.model.config import (
        AuditSchedule,
        Budgets,
        Directives,
        Executor,
        Goal,
        GoalStatus,
        Identity,
        Limits,
        ProviderConfig,
        Push,
        RoiWeights,
        Rule,
        Schedule,
        Timeouts,
    )
    from engine.model.editops import EDIT_FORMATS, EDIT_OPS, EditOp
    from engine.model.metrics import (
        BehaviourMetrics,
        ComplexityMetrics,
        CoverageMetrics,
        DiffCoverage,
        LintMetrics,
        Metrics,
        SecurityMetrics,
        TestMetrics,
    )
    from engine.model.outcome import (
        CycleReport,
        Decision,
        DecisionKind,
        Outcome,
        RuleOutcome,
    )
    from engine.model.plan import CallStat, Edit, Proposal, Usage

__all__ = [
    "EDIT_FORMATS",
    "EDIT_OPS",
    "BehaviourMetrics",
    "Budgets",
    "ChangeFacts",
    "CallStat",
    "ComplexityMetrics",
    "CoverageMetrics",
    "DiffCoverage",
    "CycleReport",
    "Decision",
    "DecisionKind",
    "Directives",
    "Edit",
    "EditOp",
    "AuditSchedule",
    "Executor",
    "Goal",
    "GoalStatus",
    "Identity",
    "Limits",
    "LintMetrics",
    "Metrics",
    "Outcome",
    "Proposal",
    "ProviderConfig",
    "Push",
    "RoiWeights",
    "Rule",
    "RuleOutcome",
    "Schedule",
    "SecurityMetrics",
    "TestMetrics",
    "Timeouts",
    "Usage",
    "metrics_from_data",
    "to_data",
]

# name -> the submodule that defines it. Imported on first use (PEP 562): defining a frozen
# dataclass costs ~1.5 ms, and `ratchet status` needs a third of these.
_HOME: dict[str, str] = {
    **dict.fromkeys(("metrics_from_data", "to_data"), "codec"),
    **dict.fromkeys(
        (
            "AuditSchedule",
            "Budgets",
            "Directives",
            "Executor",
            "Goal",
            "GoalStatus",
            "Identity",
            "Limits",
            "ProviderConfig",
            "Push",
            "RoiWeights",
            "Rule",
            "Schedule",
            "Timeouts",
        ),
        "config",
    ),
    **dict.fromkeys(
        (
            "BehaviourMetrics",
            "ComplexityMetrics",
            "CoverageMetrics",
            "DiffCoverage",
            "LintMetrics",
            "Metrics",
            "SecurityMetrics",
            "TestMetrics",
        ),
        "metrics",
    ),
    "ChangeFacts": "change",
    **dict.fromkeys(
        ("CycleReport", "Decision", "DecisionKind", "Outcome", "RuleOutcome"), "outcome"
    ),
    **dict.fromkeys(("EDIT_FORMATS", "EDIT_OPS", "EditOp"), "editops"),
    **dict.fromkeys(("CallStat", "Edit", "Proposal", "Usage"), "plan"),
}

if not TYPE_CHECKING:  # mypy sees the imports above; a module __getattr__ would hide typos
    __getattr__ = lazy_getattr(__name__, _HOME, globals())
