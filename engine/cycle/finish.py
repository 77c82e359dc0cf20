"""How an attempt ends: its records committed, its branch kept or archived, its report
completed; and the worktree an attempt runs in, abandoned cleanly on interruption.

Every ending of an attempt passes through :func:`settle`: a :class:`~engine.cycle.merge.
Landed` candidate only gets its report completed; an :class:`~engine.cycle.state.Ending`
is recorded by :func:`finish`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from engine.cycle import naming
from engine.cycle.merge import Landed
from engine.cycle.protocols import Seams
from engine.cycle.state import Attempt, Ending, report_of
from engine.gate.timing import StepTimer, current_totals, step
from engine.model import CycleReport, Metrics, Outcome
from engine.model.journal import PendingMerge

# Outcomes that, without any change, leave no commit and no branch behind.
_TRACELESS: frozenset[Outcome] = frozenset({"nothing-to-do", "error", "budget"})


def settle(s: Seams, worktree: Path, result: Landed | Ending) -> CycleReport:
    """The final report of an attempt that landed or ended."""
    if isinstance(result, Landed):
        return finalize(s, result.report)
    return finish(s, worktree, result)


def finish(s: Seams, worktree: Path, ending: Ending) -> CycleReport:
    """Record the attempt in its own commit; keep the branch (review/pending: a pending
    one is queued with the commit the gate evaluated) or archive the commit under
    ``refs/ratchet/rejected/`` and delete the branch. An attempt that changed nothing and
    ended without a verdict leaves no commit."""
    a = ending.attempt
    report = report_of(a, ending.outcome, ending.message)
    if ending.outcome in _TRACELESS and a.change is None:
        s.repo.delete_branch(a.branch)
        return finalize(s, report)
    rationale = a.proposal.rationale if a.proposal else ""
    with step("records"):
        commit = s.write_records(worktree, report, rationale)
    report = replace(report, commit=commit)
    if not ending.keep_branch:
        ref = naming.archive_ref_of(a.goal.id, a.branch, ending.outcome)
        s.repo.archive(ref, commit)
        s.repo.delete_branch(a.branch)
        report = replace(report, rejected_ref=ref)
    if ending.outcome == "pending":
        s.pending.add(
            PendingMerge(
                goal=a.goal.id,
                branch=a.branch,
                commit=commit,
                target=a.target,
                target_before=a.target_before,
                cycle_id=a.cycle_id,
                evaluated=a.evaluated,
            )
        )
    return finalize(s, report)


def finalize(s: Seams, report: CycleReport) -> CycleReport:
    """``report`` with the target's tip now, the finishing time and every step's timing;
    a report with a commit gets its full record attached to that (final) commit."""
    after = s.repo.rev_parse(naming.branch_ref(report.target)) if report.target else None
    report = replace(report, target_after=after, finished=s.now(), timings=current_totals())
    if report.commit:
        s.write_evidence(report)
    return report


def bare(
    s: Seams,
    goal: str | None,
    target: str,
    tip: str,
    outcome: Outcome,
    message: str,
    baseline: Metrics | None = None,
) -> CycleReport:
    """The report of a cycle that made no attempt (nothing to do), journaled."""
    now = s.now()
    report = CycleReport(
        cycle_id=naming.cycle_id(s.clock(), goal or "none", 0),
        goal=goal,
        outcome=outcome,
        message=message,
        target=target,
        target_before=tip,
        target_after=tip,
        baseline=baseline,
        started=now,
        finished=now,
        timings=current_totals(),
    )
    s.journal.append(report)
    return report


def attempt_timer(s: Seams, goal_id: str) -> StepTimer:
    """A fresh timer for one attempt at ``goal_id``: each step is reported as it starts,
    a running test step's progress as ``"<step> 45%"`` (:data:`~engine.cycle.protocols.
    StepReporter`)."""
    return StepTimer(
        on_start=lambda key: s.on_step(goal_id, key),
        on_progress=lambda key, done: s.on_step(goal_id, f"{key} {done}"),
    )


def abandon(s: Seams, a: Attempt) -> None:
    """Archive an interrupted attempt's partial commit (nothing is lost) and delete its
    branch. A commit the target already holds (interrupted right after its merge) is not
    archived as a rejection."""
    head = s.repo.rev_parse(naming.branch_ref(a.branch))
    if head is None:
        return
    tip = s.repo.rev_parse(naming.branch_ref(a.target))
    if head != a.target_before and not (tip and s.repo.is_ancestor(head, tip)):
        s.repo.archive(naming.rejected_ref_of(a.goal.id, a.branch), head)
    s.repo.delete_branch(a.branch)


@contextmanager
def candidate_worktree(s: Seams, a: Attempt, commit: str) -> Iterator[Path]:
    """A worktree on ``a.branch`` at ``commit``, removed afterwards; on SIGTERM or a crash
    the attempt is abandoned so no half-made branch is left behind."""
    name = naming.worktree_name(a.goal.id, naming.branch_number(a.branch))
    with step("worktree"):
        worktree = s.repo.add_worktree(name, commit=commit, branch=a.branch)
    try:
        yield worktree
    except BaseException:
        abandon(s, a)
        raise
    finally:
        s.repo.remove_worktree(worktree)
