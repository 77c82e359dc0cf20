"""The one orchestrator: goal -> proposal -> candidate -> evaluation -> decision ->
merge/reset -> record.

It talks to git only through :class:`engine.vcs.Repository`, runs candidate code only
through the measurer (the sandbox), and never writes the user's working tree, index or
HEAD: all work happens in a private worktree under ``.ratchet/worktrees``; the only
write to a checked-out branch is a fast-forward of a clean target.

The steps are functions over frozen values (:mod:`engine.cycle.attempt`,
:mod:`engine.cycle.merge`, :mod:`engine.cycle.finish`); this class only chooses which goal
runs and how many attempts it gets. Every attempt ends as a
:class:`~engine.model.CycleReport` appended to the journal; candidates that produced a
commit also carry their records in that commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from engine.config import Config
from engine.cycle import facts, naming
from engine.cycle.attempt import (
    ProviderFactory,
    begin,
    commit_and_measure,
    patch,
    proposal_request,
    propose,
    self_review,
    with_plan,
)
from engine.cycle.finish import attempt_timer, bare, candidate_worktree, finish, settle
from engine.cycle.memory import cycle_history, decisions_in_git
from engine.cycle.merge import conclude, decide
from engine.cycle.planning import Planner
from engine.cycle.protocols import (
    Clock,
    EvidenceWriter,
    Journal,
    Measurer,
    PendingStore,
    RecordWriter,
    Seams,
    StepReporter,
)
from engine.cycle.questions import asked, open_questions
from engine.cycle.selection import order_goals
from engine.cycle.state import Attempt, Ending
from engine.cycle.workers import plan_slots, run_concurrently
from engine.errors import InputError, ProviderUnavailable
from engine.gate.health import broken_baseline
from engine.gate.timing import recording, step
from engine.model import ChangeFacts, CycleReport, Goal, Metrics, Proposal
from engine.model.journal import JournalEntry
from engine.providers.base import Provider
from engine.vcs import Repository

__all__ = ["Cycle", "CycleRequest", "Measurer"]


@dataclass(frozen=True, kw_only=True)
class CycleRequest:
    goal_id: str | None = None
    plan: Proposal | None = None  # a fixed proposal (``--plan``): one attempt, no provider
    provider: Provider | None = None  # override the configured provider (tests, --plan)


class Cycle:
    """One improvement cycle over one repository with one configuration.

    The record writer, journal and pending queue default to the real ones in
    :mod:`engine.records`; tests pass the fakes of :mod:`engine.cycle.fakes` instead.
    """

    def __init__(
        self,
        repo: Repository,
        config: Config,
        measurer: Measurer,
        *,
        make_provider: ProviderFactory,
        clock: Clock = lambda: datetime.now(UTC),
        on_step: StepReporter = lambda goal, step: None,
        write_records: RecordWriter | None = None,
        journal: Journal | None = None,
        pending: PendingStore | None = None,
        varied: Callable[[Goal], bool] = lambda goal: False,
        write_evidence: EvidenceWriter | None = None,
    ) -> None:
        """``varied``: whether a goal's provider proposes a different change when asked
        again (a model does), so a spare worker may make a further proposal for it."""
        from engine.records.commit import GitRecordWriter
        from engine.records.evidence import GitEvidenceWriter
        from engine.records.journal import JournalFile
        from engine.records.pending import PendingQueue

        self.make_provider = make_provider
        self.varied = varied
        self.planner = Planner()  # plans of broad goals, numbers of questions
        self.seams = Seams(
            repo=repo,
            config=config,
            measurer=measurer,
            write_records=write_records
            or GitRecordWriter(
                repo,
                config.directives.identity,
                config.goals,
                extras=lambda report: self.planner.pages(self.seams, report),
            ),
            journal=journal or JournalFile(repo.state_dir),
            pending=pending or PendingQueue(repo.state_dir),
            clock=clock,
            on_step=on_step,
            write_evidence=write_evidence or GitEvidenceWriter(repo, config.directives.identity),
        )

    @property
    def repo(self) -> Repository:
        return self.seams.repo

    def run(self, request: CycleRequest, *, workers: int = 1) -> list[CycleReport]:
        """Run one cycle; returns every attempt's report (the last is the outcome).

        ``workers`` > 1: up to that many goals' cycles at once (:mod:`engine.cycle.workers`;
        :func:`~engine.cycle.workers.headline` picks the report that stands for them)."""
        s = self.seams
        target = s.config.directives.target_branch or s.repo.current_branch()
        if not target:
            raise InputError(
                "HEAD is detached and directives.yaml has no target_branch: "
                "set target_branch or check out a branch"
            )
        tip = s.repo.rev_parse(naming.branch_ref(target))
        if tip is None:
            raise InputError(f"target branch {target!r} does not exist (directives.target_branch)")
        decisions = decisions_in_git(s.repo, target)
        history = cycle_history(s.journal.read(), decisions)
        goals = order_goals(s.config.goals, history, request.goal_id)
        if not goals:
            return [bare(s, None, target, tip, "nothing-to-do", "no active goal in goals.yaml")]

        def run_goal(seams: Seams, goal: Goal) -> list[CycleReport]:
            return self._run_goal(seams, goal, target, tip, request, history, decisions)

        if workers > 1 and request.plan is None:
            slots = plan_slots(goals, workers, self.varied)
            return run_concurrently(s, slots, workers, run_goal)
        idle: list[CycleReport] = []
        for goal in goals:
            reports = run_goal(s, goal)
            if reports[-1].outcome not in ("nothing-to-do", "question"):
                return idle + reports
            idle += reports  # nothing to do (or a question asked): the next goal gets the cycle
        return idle

    def _run_goal(
        self,
        s: Seams,
        goal: Goal,
        target: str,
        tip: str,
        request: CycleRequest,
        history: Sequence[JournalEntry],
        decisions: Sequence[JournalEntry],
    ) -> list[CycleReport]:
        timer = attempt_timer(s, goal.id)  # the first attempt's: it includes the baseline
        with recording(timer):
            if goal.status != "active":
                return [bare(s, goal.id, target, tip, "nothing-to-do", f"goal is {goal.status}")]
            if waiting := open_questions(goal, asked(history)):  # no guess, no model token
                n = waiting[0].number
                message = (
                    f"waiting for an answer to question {n} (memory-bank/questions.md): "
                    f'add answers: {{{n}: "..."}} to goal {goal.id} in goals.yaml'
                )
                return [bare(s, goal.id, target, tip, "nothing-to-do", message)]
            with step("baseline"):
                baseline = s.measurer.baseline(s.repo, tip)
            if (broken := broken_baseline(baseline)) is not None:  # before any model token
                return [bare(s, goal.id, target, tip, "broken-baseline", broken, baseline=baseline)]
            if goal.done_when and _goal_met(goal, baseline):
                message = f"goal met: {goal.done_when}"
                return [bare(s, goal.id, target, tip, "nothing-to-do", message, baseline=baseline)]
            provider: Provider | None = None
            if request.plan is None:
                try:
                    provider = request.provider or self.make_provider(goal)
                except ProviderUnavailable as exc:
                    return [bare(s, goal.id, target, tip, "nothing-to-do", f"skipped: {exc}")]
            subtask = ""
            if provider is not None:  # a broad goal's next sub-task (engine.cycle.plans)
                subtask = self.planner.subtask(s, goal, tip, baseline, provider.name, history)

        reports: list[CycleReport] = []
        attempts = 1 if request.plan is not None else max(1, goal.max_attempts)
        feedback = ""
        for number in range(1, attempts + 1):
            with recording(timer if number == 1 else attempt_timer(s, goal.id)):
                a = replace(begin(s, goal, target, number, baseline), subtask=subtask)
                with candidate_worktree(s, a, a.target_before) as worktree:
                    report = self._attempt(
                        s, worktree, a, request.plan, provider, feedback, history
                    )
            s.journal.append(report)
            if number > 1 and report.outcome == "nothing-to-do":
                # refining found nothing new: the rejection stays the goal's outcome (the
                # idle attempt is journaled; its message joins the rejection's notes)
                idle = f"attempt {number}: nothing-to-do — {report.message}"
                reports[-1] = replace(reports[-1], notes=(*reports[-1].notes, idle))
                break
            reports.append(report)
            if report.outcome != "rejected" or request.plan is not None:
                break
            feedback = facts.feedback(report)
            history = cycle_history(s.journal.read(), decisions)
        return reports

    def _attempt(
        self,
        s: Seams,
        worktree: Path,
        a: Attempt,
        plan: Proposal | None,
        provider: Provider | None,
        feedback: str,
        history: Sequence[JournalEntry],
    ) -> CycleReport:
        """propose -> patch -> self-review (optional) -> commit and measure -> decide ->
        merge/keep/reject."""
        t0 = time.monotonic()
        if plan is None:
            assert provider is not None
            proposed = propose(s, a, worktree, provider, feedback, history)
        else:
            proposed = with_plan(a, plan)
        if isinstance(proposed, Ending):
            if proposed.outcome == "question":
                proposed = self.planner.number(s, proposed, history)
            return finish(s, worktree, proposed)
        patched = patch(s, proposed, worktree, history)
        if isinstance(patched, Ending):
            return finish(s, worktree, patched)
        candidate, applied = patched
        if provider is not None and plan is None:
            request = proposal_request(s, candidate, worktree, feedback, history)
            reviewed = self_review(s, candidate, request, provider, applied)
            if isinstance(reviewed, Ending):
                return finish(s, worktree, reviewed)
            candidate = reviewed
        measured = commit_and_measure(s, candidate, worktree, applied)
        seconds = time.monotonic() - t0
        judged = decide(s, measured, seconds)
        return settle(s, worktree, conclude(s, judged, worktree, seconds))


def _goal_met(goal: Goal, baseline: Metrics) -> bool:
    from engine.gate.policy.context import build_context
    from engine.gate.policy.engine import goal_met

    context = build_context(
        baseline=baseline, candidate=baseline, change=ChangeFacts(), goal=goal, cost={}, roi=0.0
    )
    return goal_met(goal, context)
