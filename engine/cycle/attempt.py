"""The steps of one attempt before the gate: begin -> propose -> patch -> commit and measure.

Each step takes the frozen :class:`~engine.cycle.state.Attempt` so far and returns a new
one, or an :class:`~engine.cycle.state.Ending` when the attempt stops there (the provider
failed or proposed nothing, the patcher refused the plan, the proposal repeats a rejected
change). Nothing here decides a candidate's fate: :mod:`engine.cycle.merge` does, through
the gate, which recounts the change from git instead of trusting the patcher's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from engine.cycle import naming
from engine.cycle.fingerprint import rules_fingerprint
from engine.cycle.protocols import Seams
from engine.cycle.questions import answer_lines, asked, scope_question
from engine.cycle.selection import diff_fingerprint, rejection_history
from engine.cycle.state import Attempt, Ending
from engine.errors import BudgetExceeded, ProviderError
from engine.gate.paths import scope_files
from engine.gate.timing import step
from engine.model import Decision, Goal, Metrics, Proposal, RuleOutcome, Usage
from engine.model.journal import JournalEntry
from engine.patching.plan import PlanApplied, PlanRefused, apply_plan
from engine.patching.workspace import read_text, write_files
from engine.providers.base import ProposalRequest, Provider, Review, ReviewRequest
from engine.records.decisions import blocked, decision_reasons
from engine.records.lessons import read_lessons
from engine.records.numbers import allocate_number
from engine.vcs import format_message

ProviderFactory = Callable[[Goal], Provider]
"""The provider for a goal (raises ``ProviderUnavailable`` when it cannot be made)."""


def begin(
    s: Seams, goal: Goal, target: str, attempt: int, baseline: Metrics | None = None
) -> Attempt:
    """A new attempt at ``goal`` on the next free branch number, based on the target's
    tip, with its baseline: ``baseline`` when it was measured for this tip already (a
    timed-out one is not cached, so measuring it again would cost the timeout twice)."""
    tip = s.repo.rev_parse(naming.branch_ref(target)) or ""
    n = allocate_number(s.repo, goal.id)
    if baseline is None or baseline.commit != tip:
        with step("baseline"):
            baseline = s.measurer.baseline(s.repo, tip)
    return Attempt(
        goal=goal,
        cycle_id=naming.cycle_id(s.clock(), goal.id, n),
        attempt=attempt,
        branch=naming.candidate_branch(goal.id, n),
        target=target,
        target_before=tip,
        started=s.now(),
        baseline=baseline,
    )


def propose(
    s: Seams,
    a: Attempt,
    worktree: Path,
    provider: Provider,
    feedback: str,
    history: Sequence[JournalEntry],
) -> Attempt | Ending:
    """Ask the provider for a plan. A failed call still cost something: its spend is
    kept in the record (outcome ``budget`` or ``error``)."""
    request = proposal_request(s, a, worktree, feedback, history)
    if not request.files and not a.goal.answers:  # no target can be determined: ask
        return Ending(attempt=a, outcome="question", message=scope_question(a.goal))
    if request.answers:  # the record says which answers the proposal was given
        a = a.noted(f"the human's answers were in the prompt: {'; '.join(request.answers)}")
    try:
        with step("propose"):
            plan = provider.propose(request)
    except (BudgetExceeded, ProviderError) as exc:
        usage = getattr(exc, "usage", None) or Usage()
        failed = replace(a, proposal=Proposal(summary="", provider=provider.name, usage=usage))
        if isinstance(exc, BudgetExceeded):
            return Ending(attempt=failed, outcome="budget", message=str(exc))
        return Ending(attempt=failed, outcome="error", message=f"provider failed: {exc}")
    return with_plan(a, plan)


def proposal_request(
    s: Seams, a: Attempt, worktree: Path, feedback: str, history: Sequence[JournalEntry]
) -> ProposalRequest:
    """What the provider is asked for this attempt (the same for its self-review)."""
    from engine.recall.recall import similar_failures
    from engine.records.distil import bullets
    from engine.records.switches import earlier_rejections

    directives = s.config.directives
    return ProposalRequest(
        goal=a.goal,
        root=worktree,
        files=scope_files(s.repo.ls_files(a.target_before), a.goal, directives.protected_paths),
        directives=directives,
        attempt=a.attempt,
        feedback=feedback,
        history=rejection_history(history, a.goal.id, earlier_rejections(a.goal))
        + decision_reasons([e.to_json() for e in history], a.goal.id),
        lessons=read_lessons(s.repo.root),
        similar=similar_failures(s.repo, history, a.goal, feedback),
        goal_lessons=bullets(goal_lessons(s, a.goal)),
        state_dir=s.repo.state_dir,
        answers=answer_lines(a.goal, asked(history)),
        focus=(a.subtask,) if a.subtask else (),
    )


def goal_lessons(s: Seams, goal: Goal) -> str:
    """The goal's newest distilled lessons, regenerated from the records in git and the
    journal (:func:`engine.records.distil.current_lessons`); "" when lessons are off
    (``lessons_every: 0``)."""
    from engine.records.distil import current_lessons
    from engine.records.history import load_history
    from engine.records.switches import lessons_every

    every = lessons_every(goal)
    if every == 0:
        return ""
    return current_lessons(load_history(s.repo), goal.id, every)


def self_review(
    s: Seams, a: Attempt, request: ProposalRequest, provider: Provider, applied: PlanApplied
) -> Attempt | Ending:
    """The model reviews its own diff before it is measured, when the goal (option
    ``self_review``) or the provider enables it and the provider can. A verdict other than
    ``ok`` ends the attempt ``rejected`` (rule ``self-review``; the refine loop sends the
    reason back). The review can only stop a change: every change it lets through is
    judged by the gate as usual. A review that fails (transport, budget) is noted and
    the attempt goes on."""
    assert a.proposal is not None
    reviewer = getattr(provider, "review", None)
    wanted = a.goal.options.get("self_review")
    if wanted is None:
        wanted = bool(getattr(provider, "self_review", False))
    if not wanted or reviewer is None:
        return a
    ask = ReviewRequest(
        request=request,
        summary=a.proposal.summary,
        diff=applied.diff,
        rules=tuple(f"{r.id}: {r.description}" for r in s.config.rules),
        spent=a.proposal.usage,
    )
    proposal = a.proposal
    try:
        with step("self-review"):  # reported as it starts, like every timed step
            review: Review = reviewer(ask)
    except (BudgetExceeded, ProviderError) as exc:
        usage = getattr(exc, "usage", None) or proposal.usage
        a = replace(a, proposal=replace(proposal, usage=usage))
        return a.noted(f"self-review failed, not applied: {exc}")
    a = replace(a, proposal=replace(proposal, usage=review.usage))
    note = f"self-review: {review.verdict}: {review.reason}"
    if review.passed:
        return a.noted(note)
    outcome = RuleOutcome(
        id="self-review", passed=False, detail=f"{review.verdict}: {review.reason}"
    )
    return Ending(
        attempt=replace(a.noted(note), decision=Decision(kind="reject", outcomes=(outcome,))),
        outcome="rejected",
        message=f"sent back by the model's self-review ({review.verdict}): {review.reason}",
    )


def with_plan(a: Attempt, plan: Proposal) -> Attempt | Ending:
    """``a`` carrying ``plan``; an empty plan ends the attempt as ``nothing-to-do``, a plan
    that asks a question as ``question`` (numbered by the cycle)."""
    a = replace(a, proposal=plan)
    if plan.question:
        return Ending(attempt=a, outcome="question", message=plan.question)
    if not plan.edits:
        message = plan.summary or "the provider proposed no change"
        return Ending(attempt=a, outcome="nothing-to-do", message=message)
    return a


def patch(
    s: Seams, a: Attempt, worktree: Path, history: Sequence[JournalEntry]
) -> tuple[Attempt, PlanApplied] | Ending:
    """Apply the plan in memory. A refused plan ends ``rejected`` with ``guard-<kind>``
    outcomes; a diff rejected before for this goal ends ``nothing-to-do``."""
    assert a.proposal is not None
    directives = s.config.directives
    with step("patch"):
        result = apply_plan(
            lambda rel: read_text(worktree, rel),
            a.proposal.edits,
            scope=a.goal.scope,
            protected_extra=directives.protected_paths,
            allow_protected=directives.on_protected == "review",
            max_file_bytes=directives.limits.max_file_kb * 1024,
            max_diff_lines=directives.limits.max_diff_lines,
        )
    if isinstance(result, PlanRefused):
        outcomes = tuple(
            RuleOutcome(
                id=f"guard-{r.kind}", passed=False, detail=f"edit #{r.index} {r.file}: {r.reason}"
            )
            for r in result.reasons
        )
        reasons = "; ".join(f"{r.file}: {r.reason}" for r in result.reasons[:3])
        return Ending(
            attempt=replace(a, decision=Decision(kind="reject", outcomes=outcomes)),
            outcome="rejected",
            message=f"refused before anything ran: {reasons}",
        )
    a = replace(a, fingerprint=diff_fingerprint(result.diff))
    repeat = blocked(a.fingerprint, rules_fingerprint(s.config), [e.to_json() for e in history])
    if repeat is not None:
        # Never propose a rejected change again; with nothing new, the goal is idle.
        return Ending(attempt=a, outcome="nothing-to-do", message=repeat)
    return a, result


def commit_and_measure(s: Seams, a: Attempt, worktree: Path, applied: PlanApplied) -> Attempt:
    """Write the patched files, commit them under the bot identity and measure the commit
    in the sandbox. ``change`` is the patcher's account until the gate recounts it."""
    assert a.proposal is not None
    with step("commit"):
        write_files(worktree, applied.files)
        commit = s.repo.commit_all(
            worktree,
            author=s.config.directives.identity,
            message=format_message(
                a.proposal.summary,
                a.proposal.rationale,
                {"Ratchet-Goal": a.goal.id, "Ratchet-Decision": "evaluating"},
            ),
        )
    s.on_step(a.goal.id, "evaluate")
    candidate = s.measurer.candidate(
        worktree, s.repo, commit, base=a.target_before, goal=a.goal, proposer=a.proposal.provider
    )
    return replace(a, change=applied.change_facts(), candidate=candidate)
