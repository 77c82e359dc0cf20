"""Retry of merges that waited for a clean checked-out target (outcome ``pending``).

At the start of a cycle, each pending candidate whose branch is untouched since ratchet
made it is merged when the target is unchanged and its worktree is clean now — after
verifying that the commit differs from the candidate the gate evaluated only in the
cycle's records (an entry of an older version, which does not name the evaluated commit,
is evaluated again instead). When the target moved, the candidate is rebased onto the new
tip, evaluated again and decided afresh (merged, rejected, review, or pending again). A
branch a human has committed to is left alone and forgotten. At most one pending
candidate is settled per cycle.
"""

from __future__ import annotations

from engine.cycle import facts, naming
from engine.cycle.finish import attempt_timer, candidate_worktree, finish, settle
from engine.cycle.merge import conclude, decide, rebase_and_measure
from engine.cycle.protocols import Seams
from engine.cycle.state import Attempt, Ending
from engine.gate.change import smuggled_paths
from engine.gate.timing import recording
from engine.model import CycleReport
from engine.model.journal import PendingMerge


def retry_pending(s: Seams) -> CycleReport | None:
    """Settle the first pending candidate that can be settled now; its report, or None."""
    keep: list[PendingMerge] = []
    done: CycleReport | None = None
    for entry in s.pending.read():
        at = s.repo.rev_parse(naming.branch_ref(entry.branch))
        if done is not None or at != entry.commit:
            if at == entry.commit:
                keep.append(entry)
            continue  # gone, or a human committed to it: never touched again
        moved = s.repo.rev_parse(naming.branch_ref(entry.target)) != entry.target_before
        if moved or not entry.evaluated:
            # Rebased onto the tip and judged again (it may wait again).
            report = resume(s, entry)
            if report is not None:
                s.journal.append(report)
                if report.outcome == "pending":  # still dirty: re-registered, new commit
                    keep += [e for e in s.pending.read() if e.branch == entry.branch]
                    continue
                done = report  # whatever it became, this cycle's work is done
            continue
        smuggled = smuggled_paths(s.repo, entry.evaluated, entry.commit, entry.cycle_id)
        if smuggled:
            done = _refuse(s, entry, smuggled)
            continue
        result = s.repo.fast_forward(entry.target, entry.commit, entry.target_before)
        if result.kind in ("updated-ref", "fast-forwarded"):
            s.repo.delete_branch(entry.branch)
            now = s.now()
            done = CycleReport(
                cycle_id=entry.cycle_id,
                goal=entry.goal,
                outcome="merged",
                message=f"pending merge completed: {entry.target} fast-forwarded",
                branch=entry.branch,
                commit=entry.commit,
                target=entry.target,
                target_before=entry.target_before,
                target_after=entry.commit,
                started=now,
                finished=now,
            )
            s.journal.append(done)
        else:
            keep.append(entry)
    s.pending.write(keep)
    return done


def resume(
    s: Seams,
    entry: PendingMerge,
    *,
    accepted: bool = False,
    note: str = "",
    fingerprint: str = "",
) -> CycleReport | None:
    """A pending candidate rebased onto the target's tip, evaluated again and decided
    afresh. None when its goal is gone or no longer active (the candidate is then archived
    under refs/ratchet/rejected/, nothing is lost).

    Also the path of a human's decision (:mod:`engine.cycle.review`): ``accepted`` (review
    accept) lets a rule that asked for review pass, a failed reject rule still rejects;
    ``note`` is recorded; ``fingerprint`` keeps the diff's identity in the record."""
    goal = next((g for g in s.config.goals if g.id == entry.goal), None)
    if goal is None or goal.status != "active":
        s.repo.archive(naming.rejected_ref_of(entry.goal, entry.branch), entry.commit)
        s.repo.delete_branch(entry.branch)
        return None
    tip = s.repo.rev_parse(naming.branch_ref(entry.target)) or ""
    a = Attempt(
        goal=goal,
        cycle_id=entry.cycle_id,
        attempt=1,
        branch=entry.branch,
        target=entry.target,
        target_before=entry.target_before,
        started=s.now(),
        proposal=facts.proposal_from_commit(s.repo, entry.commit),
        accepted=accepted,
        fingerprint=fingerprint,
        notes=(note,) if note else (),
    )
    s.repo.delete_branch(entry.branch)  # re-made below, on the same commit, in a worktree
    with (
        recording(attempt_timer(s, goal.id)),
        candidate_worktree(s, a, entry.commit) as worktree,
    ):
        note = (
            f"pending since {entry.target_before[:12]}; {entry.target} moved to "
            f"{tip[:12]}: rebased and re-evaluated"
            if tip != entry.target_before
            else f"pending since {entry.target_before[:12]}: re-evaluated"
        )
        step = rebase_and_measure(s, a, worktree, tip, note)
        if isinstance(step, Ending):
            return finish(s, worktree, step)
        judged = decide(s, step, 0.0)
        return settle(s, worktree, conclude(s, judged, worktree, 0.0))


def _refuse(s: Seams, entry: PendingMerge, smuggled: tuple[str, ...]) -> CycleReport:
    """A queued commit that is not what the gate evaluated: archived, never landed."""
    ref = naming.rejected_ref_of(entry.goal, entry.branch)
    s.repo.archive(ref, entry.commit)
    s.repo.delete_branch(entry.branch)
    now = s.now()
    report = CycleReport(
        cycle_id=entry.cycle_id,
        goal=entry.goal,
        outcome="rejected",
        message=(
            f"refused to land pending {entry.commit[:12]}: it differs from the evaluated "
            f"candidate {entry.evaluated[:12]} outside the cycle's records: "
            + ", ".join(smuggled[:5])
        ),
        branch=entry.branch,
        commit=entry.commit,
        target=entry.target,
        target_before=entry.target_before,
        target_after=s.repo.rev_parse(naming.branch_ref(entry.target)),
        rejected_ref=ref,
        started=now,
        finished=now,
    )
    s.journal.append(report)
    return report
