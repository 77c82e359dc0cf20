"""Frozen value types shared by every layer. No I/O here, no imports of the rest of the engine.

One module per concept; everything is re-exported here, so ``from engine.model import X``
is the way to import:

- :mod:`~engine.model.config`: what humans write (Goal, Directives and its parts, Rule);
- :mod:`~engine.model.plan`: the edit plan (Edit, Proposal) and a provider's Usage;
- :mod:`~engine.model.metrics`: what a measurement found (Metrics and its parts);
- :mod:`~engine.model.outcome`: what a cycle decided and did (ChangeFacts, RuleOutcome,
  Decision, CycleReport);
- :mod:`~engine.model.codec`: values <-> plain data (:func:`to_data`, :func:`metrics_from_data`).
"""

from __future__ import annotations

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
    ChangeFacts,
    CycleReport,
    Decision,
    DecisionKind,
    Outcome,
    RuleOutcome,
)
from engine.model.plan import EDIT_FORMATS, EDIT_OPS, CallStat, Edit, EditOp, Proposal, Usage

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
