"""Acting on the gate's decision: judge, then merge by compare-and-swap, rebase onto a
moved target, or wait (pending) for a checked-out target with local changes.

This module is a decision root (``engine/gate/boundary.py``): everything it imports is
protected, and it imports no producer (provider, patcher, record writer). The records are
written through the :class:`~engine.cycle.protocols.RecordWriter` seam, and before any ref
moves, :func:`land` verifies that the commit about to land differs from the candidate
commit the gate evaluated only in the cycle's own record files; a writer that smuggled
anything else in is refused (the attempt is rejected, nothing lands).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from engine.cycle.fingerprint import rules_fingerprint
from engine.cycle.protocols import Seams
from engine.cycle.state import Attempt, Ending, report_of
from engine.gate.change import smuggled_paths
from engine.gate.decision import judge
from engine.gate.timing import step
from engine.model import CycleReport, Outcome, Usage
from engine.vcs import branch_ref

MAX_REBASES = 3


@dataclass(frozen=True, kw_only=True)
class Landed:
    """The target now points at the candidate: ``report.commit`` is what landed."""

    attempt: Attempt
    report: CycleReport


def decide(s: Seams, a: Attempt, seconds: float) -> Attempt:
    """``a`` judged by the gate: metrics as the rules saw them, the change recounted from
    git, ROI, decision and the gate's notes. Requires a measured baseline and candidate."""
    assert a.baseline is not None and a.candidate is not None
    with step("rules"):
        verdict = judge(
            s.repo,
            s.config,
            goal=a.goal,
            base_commit=a.target_before,
            baseline=a.baseline,
            candidate=a.candidate,
            cycle_id=a.cycle_id,
            usage=a.proposal.usage if a.proposal else Usage(),
            seconds=seconds,
            accepted=a.accepted,
            provider=a.proposal.provider if a.proposal else "",
        )
    return replace(
        a,
        baseline=verdict.baseline,
        candidate=verdict.candidate,
        change=verdict.change,
        roi=verdict.roi,
        decision=verdict.decision,
        notes=a.notes + verdict.notes,
        rules_fingerprint=rules_fingerprint(s.config),
    )


def rebase_and_measure(
    s: Seams, a: Attempt, worktree: Path, new_tip: str, note: str
) -> Attempt | Ending:
    """Rebase the candidate onto ``new_tip`` and measure baseline and candidate again (not
    judged yet). A candidate that no longer applies ends rejected."""
    a = a.noted(note)
    with step("rebase"):
        rebased = s.repo.rebase(worktree, new_tip, author=s.config.directives.identity)
    if not rebased:
        return Ending(
            attempt=a,
            outcome="rejected",
            message="the target moved and the candidate no longer applies",
        )
    s.on_step(a.goal.id, "re-evaluate")
    with step("baseline"):
        baseline = s.measurer.baseline(s.repo, new_tip)
    head = s.repo.head_of(worktree) or ""
    proposer = a.proposal.provider if a.proposal is not None else None
    candidate = s.measurer.candidate(
        worktree, s.repo, head, base=new_tip, goal=a.goal, proposer=proposer
    )
    return replace(a, target_before=new_tip, baseline=baseline, candidate=candidate)


def conclude(s: Seams, a: Attempt, worktree: Path, seconds: float) -> Landed | Ending:
    """Act on a judged attempt: merge it, keep it for review, or reject it."""
    assert a.decision is not None
    if a.decision.kind == "merge":
        return land(s, a, worktree, seconds)
    if a.decision.kind == "review":
        return Ending(
            attempt=a,
            outcome="review",
            message=f"kept for human review on {a.branch}",
            keep_branch=True,
        )
    failed = ", ".join(o.id for o in a.decision.failed)
    return Ending(attempt=a, outcome="rejected", message=f"rejected by the rules: {failed}")


def land(s: Seams, a: Attempt, worktree: Path, seconds: float) -> Landed | Ending:
    """Write the records, verify them, and compare-and-swap the target from the tip the
    candidate was judged against. A moved target: rebase, measure and judge again (up to
    :data:`MAX_REBASES` times). A checked-out target with local changes: pending."""
    rationale = a.proposal.rationale if a.proposal else ""
    for _ in range(MAX_REBASES + 1):
        report = report_of(a, "merged", f"fast-forwarded {a.target} to the candidate")
        with step("records"):
            commit = s.write_records(worktree, report, rationale)
        with step("merge"):
            smuggled = smuggled_paths(s.repo, a.evaluated, commit, a.cycle_id)
            if smuggled:
                return Ending(
                    attempt=a,
                    outcome="rejected",
                    message=(
                        f"refused to land {commit[:12]}: it differs from the evaluated candidate "
                        f"{a.evaluated[:12]} outside the cycle's records: "
                        f"{', '.join(smuggled[:5])}"
                    ),
                )
            result = s.repo.fast_forward(a.target, commit, a.target_before)
        if result.kind in ("updated-ref", "fast-forwarded"):
            s.repo.delete_branch(a.branch)
            return Landed(attempt=a, report=replace(report, commit=commit, target_after=commit))
        if result.kind == "dirty":
            return Ending(
                attempt=a,
                outcome="pending",
                message=f"{a.target} is checked out with local changes; the merge waits "
                "for a later cycle",
                keep_branch=True,
            )
        new_tip = s.repo.rev_parse(branch_ref(a.target)) or ""
        note = f"target moved {a.target_before[:12]} -> {new_tip[:12]}: rebased and re-evaluated"
        moved = rebase_and_measure(s, a, worktree, new_tip, note)
        if isinstance(moved, Ending):
            return moved
        a = decide(s, moved, seconds)
        assert a.decision is not None
        if a.decision.kind != "merge":
            kind: Outcome = "review" if a.decision.kind == "review" else "rejected"
            return Ending(
                attempt=a,
                outcome=kind,
                message="re-evaluated on the moved target",
                keep_branch=kind == "review",
            )
    return Ending(attempt=a, outcome="rejected", message="the target kept moving; giving up")
