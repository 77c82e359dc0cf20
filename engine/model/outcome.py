"""What a cycle decided and did: rule outcomes, the decision, the report (the change's facts
are :mod:`engine.model.change`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engine.model.change import ChangeFacts
from engine.model.codec import to_data
from engine.model.metrics import Metrics
from engine.model.plan import Usage

__all__ = ["ChangeFacts", "CycleReport", "Decision", "DecisionKind", "Outcome", "RuleOutcome"]

Outcome = Literal[
    "merged",
    "rejected",
    "review",
    "pending",
    "nothing-to-do",
    "refused",
    "error",
    "budget",
    "broken-baseline",  # the target tip's own tests fail: nothing can be judged
    "question",  # the goal cannot be acted on: a numbered question waits for the human
]


@dataclass(frozen=True, kw_only=True)
class RuleOutcome:
    id: str
    passed: bool
    detail: str  # human sentence: what was required, the values seen
    on_fail: Literal["reject", "review"] = "reject"
    values: dict[str, Any] = field(default_factory=dict)
    applicable: bool = True


DecisionKind = Literal["merge", "reject", "review"]


@dataclass(frozen=True, kw_only=True)
class Decision:
    kind: DecisionKind
    outcomes: tuple[RuleOutcome, ...] = ()

    @property
    def failed(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if o.applicable and not o.passed)


@dataclass(frozen=True, kw_only=True)
class CycleReport:
    """Everything one cycle did; the CLI prints it, memory records it."""

    cycle_id: str
    goal: str | None
    outcome: Outcome
    message: str = ""
    branch: str | None = None
    commit: str | None = None
    target: str | None = None
    target_before: str | None = None
    target_after: str | None = None
    attempt: int = 0
    provider: str = ""
    model: str = ""
    summary: str = ""
    rules: tuple[RuleOutcome, ...] = ()
    baseline: Metrics | None = None
    candidate: Metrics | None = None
    change: ChangeFacts | None = None
    roi: float = 0.0
    usage: Usage = field(default_factory=Usage)
    rejected_ref: str | None = None
    started: str = ""
    finished: str = ""
    notes: tuple[str, ...] = ()
    fingerprint: str = ""  # identity of the proposed diff (engine.cycle.selection)
    rules_fingerprint: str = ""  # identity of the rules it was judged under (cycle.memory)
    # wall-clock seconds per step (engine.gate.timing): worktree, patch, baseline, tests, ...
    timings: dict[str, float] = field(default_factory=dict)
    question: int | None = None  # the number of the question this attempt asked
    subtask: str = ""  # the plan's sub-task it worked on ("file:qualname"), engine.cycle.plans

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape: the keys the issue fixes, then the rest."""
        return {
            "goal": self.goal,
            "outcome": self.outcome,
            "branch": self.branch,
            "commit": self.commit,
            "target_before": self.target_before,
            "target_after": self.target_after,
            "rules": [{"id": r.id, "passed": r.passed, "detail": r.detail} for r in self.rules],
            "baseline": to_data(self.baseline) if self.baseline else {},
            "candidate": to_data(self.candidate) if self.candidate else {},
            "cycle_id": self.cycle_id,
            "message": self.message,
            "target": self.target,
            "attempt": self.attempt,
            "provider": self.provider,
            "model": self.model,
            "summary": self.summary,
            "change": to_data(self.change) if self.change else {},
            "roi": self.roi,
            "usage": to_data(self.usage),
            "rejected_ref": self.rejected_ref,
            "started": self.started,
            "finished": self.finished,
            "notes": list(self.notes),
            "fingerprint": self.fingerprint,
            "rules_fingerprint": self.rules_fingerprint,
            "timings": dict(self.timings),
            "question": self.question,
            "subtask": self.subtask,
        }
