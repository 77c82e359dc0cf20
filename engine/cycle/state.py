"""The frozen values the cycle's steps pass along: an :class:`Attempt` grows one step at a
time (``dataclasses.replace``), and an :class:`Ending` says how it ends.

No step mutates anything it is given; each returns a new value. :func:`report_of` turns
an attempt into the :class:`~engine.model.CycleReport` that is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.gate.timing import current_totals
from engine.model import ChangeFacts, CycleReport, Decision, Goal, Metrics, Outcome, Proposal, Usage


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One candidate so far: who, where, and whatever the steps have established."""

    goal: Goal
    cycle_id: str
    attempt: int
    branch: str
    target: str
    target_before: str  # the tip the candidate is based on (and judged against)
    started: str
    proposal: Proposal | None = None
    change: ChangeFacts | None = None
    baseline: Metrics | None = None
    candidate: Metrics | None = None  # ``candidate.commit`` is the evaluated commit
    decision: Decision | None = None
    roi: float = 0.0
    fingerprint: str = ""
    rules_fingerprint: str = ""  # the rules it was judged under (engine.cycle.memory)
    accepted: bool = False  # a human accepted it: a rule asking for review does not stop it
    notes: tuple[str, ...] = ()
    subtask: str = ""  # the plan's sub-task this attempt works on (engine.cycle.plans)
    question: int | None = None  # the number of the question it asked (outcome question)

    @property
    def evaluated(self) -> str:
        """The commit the gate measured and judged ("" before measurement)."""
        return self.candidate.commit if self.candidate else ""

    def noted(self, *notes: str) -> Attempt:
        """This attempt with ``notes`` added to its record."""
        return replace(self, notes=self.notes + notes)


@dataclass(frozen=True, kw_only=True)
class Ending:
    """How an attempt ends: the outcome, the sentence for humans, and whether its branch
    is kept (review, pending) or archived under ``refs/ratchet/rejected/``."""

    attempt: Attempt
    outcome: Outcome
    message: str
    keep_branch: bool = False


def report_of(a: Attempt, outcome: Outcome, message: str) -> CycleReport:
    """The report of ``a`` ending as ``outcome`` (commit and times are filled in later;
    ``timings`` are the current timer's so far)."""
    proposal, decision = a.proposal, a.decision
    return CycleReport(
        cycle_id=a.cycle_id,
        goal=a.goal.id,
        outcome=outcome,
        message=message,
        branch=a.branch,
        target=a.target,
        target_before=a.target_before,
        target_after=a.target_before,
        attempt=a.attempt,
        provider=proposal.provider if proposal else "",
        model=proposal.model if proposal else "",
        summary=proposal.summary if proposal else "",
        rules=decision.outcomes if decision else (),
        baseline=a.baseline,
        candidate=a.candidate,
        change=a.change,
        roi=a.roi,
        usage=proposal.usage if proposal else Usage(),
        started=a.started,
        notes=a.notes,
        fingerprint=a.fingerprint,
        rules_fingerprint=a.rules_fingerprint,
        timings=current_totals(),
        subtask=a.subtask,
        question=a.question,
    )
