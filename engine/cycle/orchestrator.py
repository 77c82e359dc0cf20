"""The one orchestrator: goal -> proposal -> candidate -> evaluation -> decision ->
merge/reset -> record.

It talks to git only through :class:`engine.vcs.Repository`, runs candidate code only
through the evaluator (the sandbox), and never writes the user's working tree, index or
HEAD: all work happens in a private worktree under ``.ratchet/worktrees``; the only
write to a checked-out branch is a fast-forward of a clean target.

Every attempt ends as a :class:`~engine.model.CycleReport` that is appended to the
journal; candidates that produced a commit also carry their records in that commit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from engine.config import Config
from engine.cycle import facts
from engine.cycle.selection import (
    diff_fingerprint,
    order_goals,
    rejected_fingerprints,
    rejection_history,
)
from engine.errors import BudgetExceeded, InputError, ProviderError, ProviderUnavailable
from engine.gate.paths import scope_files
from engine.model import (
    ChangeFacts,
    CycleReport,
    Decision,
    Goal,
    Metrics,
    Outcome,
    Proposal,
    RuleOutcome,
    Usage,
)
from engine.patching.workspace import read_text, write_files
from engine.providers.base import ProposalRequest, Provider
from engine.records import journal
from engine.records.commit import write_records
from engine.vcs import Repository

MAX_REBASES = 3


class Measurer(Protocol):
    """What the cycle needs from evaluation (the sandboxed side)."""

    def baseline(self, repo: Repository, commit: str) -> Metrics: ...

    def candidate(self, checkout: Path, repo: Repository, commit: str) -> Metrics: ...


@dataclass(frozen=True, kw_only=True)
class CycleRequest:
    goal_id: str | None = None
    plan: Proposal | None = None  # a fixed proposal (``--plan``): one attempt, no provider
    provider: Provider | None = None  # override the configured provider (tests, --plan)


@dataclass
class _Attempt:
    """Mutable scratch state of one attempt; frozen into a CycleReport at the end."""

    goal: Goal
    cycle_id: str
    attempt: int
    branch: str
    target: str
    target_before: str
    started: str
    proposal: Proposal | None = None
    change: ChangeFacts | None = None
    baseline: Metrics | None = None
    candidate: Metrics | None = None
    decision: Decision | None = None
    roi: float = 0.0
    fingerprint: str = ""
    notes: list[str] = field(default_factory=list)


class Cycle:
    """One improvement cycle over one repository with one configuration."""

    def __init__(
        self,
        repo: Repository,
        config: Config,
        measurer: Measurer,
        *,
        make_provider: Callable[[Goal], Provider],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_step: Callable[[str, str], None] = lambda goal, step: None,
    ) -> None:
        self.repo = repo
        self.config = config
        self.measurer = measurer
        self.make_provider = make_provider
        self.clock = clock
        self.on_step = on_step  # (goal id, step): progress for `ratchet status`

    # ------------------------------------------------------------------ entry point

    def run(self, request: CycleRequest) -> list[CycleReport]:
        """Run one cycle; returns every attempt's report (the last is the outcome)."""
        directives = self.config.directives
        target = directives.target_branch or self.repo.current_branch()
        if not target:
            raise InputError(
                "HEAD is detached and directives.yaml has no target_branch: "
                "set target_branch or check out a branch"
            )
        tip = self.repo.rev_parse(f"refs/heads/{target}")
        if tip is None:
            raise InputError(f"target branch {target!r} does not exist (directives.target_branch)")
        history = journal.read_journal(self.repo.state_dir)
        goals = order_goals(self.config.goals, history, request.goal_id)
        if not goals:
            return [self._bare(None, target, tip, "nothing-to-do", "no active goal in goals.yaml")]
        idle: list[CycleReport] = []
        for goal in goals:
            reports = self._run_goal(goal, target, tip, request, history)
            if reports[-1].outcome != "nothing-to-do":
                return idle + reports
            idle += reports  # nothing to do for this goal: the next one gets the cycle
        return idle

    def _run_goal(
        self,
        goal: Goal,
        target: str,
        tip: str,
        request: CycleRequest,
        history: list[dict[str, Any]],
    ) -> list[CycleReport]:
        if goal.status != "active":
            return [self._bare(goal.id, target, tip, "nothing-to-do", f"goal is {goal.status}")]
        self.on_step(goal.id, "baseline")
        baseline = self.measurer.baseline(self.repo, tip)
        if goal.done_when and self._goal_met(goal, baseline):
            return [
                self._bare(
                    goal.id,
                    target,
                    tip,
                    "nothing-to-do",
                    f"goal met: {goal.done_when}",
                    baseline=baseline,
                )
            ]
        provider: Provider | None = None
        if request.plan is None:
            try:
                provider = request.provider or self.make_provider(goal)
            except ProviderUnavailable as exc:
                return [self._bare(goal.id, target, tip, "nothing-to-do", f"skipped: {exc}")]

        reports: list[CycleReport] = []
        attempts = 1 if request.plan is not None else max(1, goal.max_attempts)
        feedback = ""
        for attempt in range(1, attempts + 1):
            report = self._attempt(
                goal, target, attempt, request.plan, provider, feedback, history, baseline
            )
            reports.append(report)
            journal.append(self.repo.state_dir, report)
            if report.outcome != "rejected" or request.plan is not None:
                break
            feedback = facts.feedback(report)
            history = journal.read_journal(self.repo.state_dir)
        return reports

    # ------------------------------------------------------------------ one attempt

    def _attempt(
        self,
        goal: Goal,
        target: str,
        attempt: int,
        plan: Proposal | None,
        provider: Provider | None,
        feedback: str,
        history: list[dict[str, Any]],
        baseline: Metrics | None = None,
    ) -> CycleReport:
        tip = self.repo.rev_parse(f"refs/heads/{target}") or ""
        n = self.repo.next_branch_number(goal.id)
        state = _Attempt(
            goal=goal,
            cycle_id=self._cycle_id(goal.id, n),
            attempt=attempt,
            branch=f"ratchet/{goal.id}/{n}",
            target=target,
            target_before=tip,
            started=self.clock().isoformat(timespec="seconds"),
        )
        if baseline is not None and baseline.commit == tip:
            state.baseline = baseline  # measured for this tip already (a timed-out one is
            # not cached, so measuring it again here would cost the whole timeout twice)
        else:
            self.on_step(goal.id, "baseline")
            state.baseline = self.measurer.baseline(self.repo, tip)
        with self._candidate_worktree(state, f"{goal.id}-{n}", tip) as worktree:
            return self._attempt_in(worktree, state, plan, provider, feedback, history)

    @contextmanager
    def _candidate_worktree(self, state: _Attempt, name: str, commit: str) -> Iterator[Path]:
        """A worktree on ``state.branch`` at ``commit``, removed afterwards; on SIGTERM or a
        crash the attempt is abandoned so no half-made branch is left behind."""
        worktree = self.repo.add_worktree(name, commit=commit, branch=state.branch)
        try:
            yield worktree
        except BaseException:
            self._abandon(state)
            raise
        finally:
            self.repo.remove_worktree(worktree)

    def _abandon(self, state: _Attempt) -> None:
        """Archive an interrupted attempt's partial commit (nothing is lost) and delete
        its branch."""
        head = self.repo.rev_parse(f"refs/heads/{state.branch}")
        if head is None:
            return
        if head != state.target_before:
            n = state.branch.rsplit("/", 1)[1]
            self.repo.archive(f"refs/ratchet/rejected/{state.goal.id}/{n}", head)
        self.repo.delete_branch(state.branch)

    def _attempt_in(
        self,
        worktree: Path,
        state: _Attempt,
        plan: Proposal | None,
        provider: Provider | None,
        feedback: str,
        history: list[dict[str, Any]],
    ) -> CycleReport:
        from engine.patching.plan import PlanRefused, apply_plan

        directives = self.config.directives
        goal = state.goal
        files = scope_files(
            self.repo.ls_files(state.target_before), goal, directives.protected_paths
        )
        t0 = time.monotonic()
        if plan is None:
            assert provider is not None
            try:
                self.on_step(state.goal.id, "propose")
                plan = provider.propose(
                    ProposalRequest(
                        goal=goal,
                        root=worktree,
                        files=files,
                        directives=directives,
                        attempt=state.attempt,
                        feedback=feedback,
                        history=rejection_history(history, goal.id),
                        lessons=facts.lessons(self.repo),
                        state_dir=self.repo.state_dir,
                    )
                )
            except (BudgetExceeded, ProviderError) as exc:
                # A failed call still cost something: keep its spend in the record.
                state.proposal = Proposal(
                    summary="", provider=provider.name, usage=getattr(exc, "usage", None) or Usage()
                )
                if isinstance(exc, BudgetExceeded):
                    return self._finish(worktree, state, "budget", str(exc))
                return self._finish(worktree, state, "error", f"provider failed: {exc}")
        state.proposal = plan
        if not plan.edits:
            return self._finish(
                worktree, state, "nothing-to-do", plan.summary or "the provider proposed no change"
            )

        self.on_step(state.goal.id, "patch")
        result = apply_plan(
            lambda rel: read_text(worktree, rel),
            plan.edits,
            scope=goal.scope,
            protected_extra=directives.protected_paths,
            allow_protected=directives.on_protected == "review",
            max_file_bytes=directives.limits.max_file_kb * 1024,
            max_diff_lines=directives.limits.max_diff_lines,
        )
        if isinstance(result, PlanRefused):
            state.decision = Decision(
                kind="reject",
                outcomes=tuple(
                    RuleOutcome(
                        id=f"guard-{r.kind}",
                        passed=False,
                        detail=f"edit #{r.index} {r.file}: {r.reason}",
                    )
                    for r in result.reasons
                ),
            )
            return self._finish(
                worktree,
                state,
                "rejected",
                "refused before anything ran: "
                + "; ".join(f"{r.file}: {r.reason}" for r in result.reasons[:3]),
            )
        state.fingerprint = diff_fingerprint(goal.id, result.diff)
        if state.fingerprint in rejected_fingerprints(history):
            # Never propose a rejected change again; with nothing new, the goal is idle.
            return self._finish(
                worktree,
                state,
                "nothing-to-do",
                "the proposal repeats a change rejected before; not evaluated",
            )
        write_files(worktree, result.files)
        state.change = result.change_facts()
        from engine.vcs import format_message

        commit = self.repo.commit_all(
            worktree,
            author=directives.identity,
            message=format_message(
                plan.summary,
                plan.rationale,
                {"Ratchet-Goal": goal.id, "Ratchet-Decision": "evaluating"},
            ),
        )
        self.on_step(state.goal.id, "evaluate")
        state.candidate = self.measurer.candidate(worktree, self.repo, commit)
        proposal_seconds = time.monotonic() - t0
        self._decide(state, proposal_seconds, result.protected)
        return self._conclude(worktree, state, proposal_seconds)

    def _conclude(self, worktree: Path, state: _Attempt, seconds: float) -> CycleReport:
        """Act on the decision: merge (compare-and-swap), keep for review, or reject."""
        assert state.decision is not None
        if state.decision.kind == "merge":
            return self._merge(worktree, state, seconds)
        if state.decision.kind == "review":
            return self._finish(
                worktree,
                state,
                "review",
                f"kept for human review on {state.branch}",
                keep_branch=True,
            )
        return self._finish(
            worktree,
            state,
            "rejected",
            "rejected by the rules: " + ", ".join(o.id for o in state.decision.failed),
        )

    # ------------------------------------------------------------------ pending merges

    def resume(self, entry: dict[str, Any]) -> CycleReport | None:
        """A pending candidate whose target moved: rebase it onto the new tip, evaluate it
        again and decide afresh. None when its goal is gone or no longer active (the
        candidate is then archived under refs/ratchet/rejected/, nothing is lost)."""
        branch, commit = str(entry["branch"]), str(entry["commit"])
        target, old_base = str(entry["target"]), str(entry["target_before"])
        n = branch.rsplit("/", 1)[1]
        goal = next((g for g in self.config.goals if g.id == entry.get("goal")), None)
        if goal is None or goal.status != "active":
            self.repo.archive(f"refs/ratchet/rejected/{entry.get('goal')}/{n}", commit)
            self.repo.delete_branch(branch)
            return None
        tip = self.repo.rev_parse(f"refs/heads/{target}") or ""
        state = _Attempt(
            goal=goal,
            cycle_id=str(entry["cycle_id"]),
            attempt=1,
            branch=branch,
            target=target,
            target_before=old_base,
            started=self.clock().isoformat(timespec="seconds"),
        )
        state.proposal = facts.proposal_from_commit(self.repo, commit)
        self.repo.delete_branch(branch)  # re-made below, on the same commit, in a worktree
        with self._candidate_worktree(state, f"{goal.id}-{n}", commit) as worktree:
            stopped = self._rebase_and_measure(
                worktree,
                state,
                tip,
                f"pending since {old_base[:12]}; {target} moved to "
                f"{tip[:12]}: rebased and re-evaluated",
            )
            if stopped is not None:
                return stopped
            head = state.candidate.commit if state.candidate else commit
            state.change = facts.change_from_git(self.repo, tip, head, state.cycle_id)
            self._decide(state, 0.0, state.change.protected)
            return self._conclude(worktree, state, 0.0)

    def _rebase_and_measure(
        self, worktree: Path, state: _Attempt, new_tip: str, note: str
    ) -> CycleReport | None:
        """Rebase the candidate onto ``new_tip`` and measure baseline and candidate again.
        Returns the rejection report when the candidate no longer applies, else None."""
        state.notes.append(note)
        if not self.repo.rebase(worktree, new_tip, author=self.config.directives.identity):
            return self._finish(
                worktree, state, "rejected", "the target moved and the candidate no longer applies"
            )
        state.target_before = new_tip
        self.on_step(state.goal.id, "re-evaluate")
        state.baseline = self.measurer.baseline(self.repo, new_tip)
        head = self.repo.head_of(worktree) or ""
        state.candidate = self.measurer.candidate(worktree, self.repo, head)
        return None

    # ------------------------------------------------------------------ decide & merge

    def _decide(self, state: _Attempt, seconds: float, protected: tuple[str, ...]) -> None:
        from engine.gate.decision import judge

        assert state.baseline and state.candidate and state.change and state.proposal
        verdict = judge(
            self.repo,
            self.config,
            goal=state.goal,
            base_commit=state.target_before,
            baseline=state.baseline,
            candidate=state.candidate,
            change=state.change,
            usage=state.proposal.usage,
            seconds=seconds,
            protected=protected,
        )
        state.baseline, state.candidate = verdict.baseline, verdict.candidate
        state.change, state.roi, state.decision = verdict.change, verdict.roi, verdict.decision
        state.notes.extend(verdict.notes)

    def _merge(self, worktree: Path, state: _Attempt, seconds: float) -> CycleReport:
        self.on_step(state.goal.id, "merge")
        for _ in range(MAX_REBASES + 1):
            report = self._report(
                state, "merged", f"fast-forwarded {state.target} to the candidate"
            )
            commit = write_records(
                self.repo,
                worktree,
                report,
                self.config.directives.identity,
                state.proposal.rationale if state.proposal else "",
            )
            result = self.repo.fast_forward(state.target, commit, state.target_before)
            if result.kind in ("updated-ref", "fast-forwarded"):
                self.repo.delete_branch(state.branch)
                return self._final(replace(report, commit=commit, target_after=commit))
            if result.kind == "dirty":
                report = self._finish(
                    worktree,
                    state,
                    "pending",
                    f"{state.target} is checked out with local changes; the "
                    "merge waits for a later cycle",
                    keep_branch=True,
                )
                self._remember_pending(state, report.commit or commit)
                return report
            # The target moved: rebase the candidate and evaluate it again.
            new_tip = self.repo.rev_parse(f"refs/heads/{state.target}") or ""
            note = (
                f"target moved {state.target_before[:12]} -> {new_tip[:12]}: "
                "rebased and re-evaluated"
            )
            stopped = self._rebase_and_measure(worktree, state, new_tip, note)
            if stopped is not None:
                return stopped
            self._decide(state, seconds, state.change.protected if state.change else ())
            assert state.decision is not None
            if state.decision.kind != "merge":
                kind: Outcome = "review" if state.decision.kind == "review" else "rejected"
                return self._finish(
                    worktree,
                    state,
                    kind,
                    "re-evaluated on the moved target",
                    keep_branch=kind == "review",
                )
        return self._finish(worktree, state, "rejected", "the target kept moving; giving up")

    # ------------------------------------------------------------------ records

    def _finish(
        self,
        worktree: Path,
        state: _Attempt,
        outcome: Outcome,
        message: str,
        *,
        keep_branch: bool = False,
    ) -> CycleReport:
        """Record the attempt in its own commit; keep the branch (review/pending) or
        archive the commit under refs/ratchet/rejected/ and delete the branch."""
        report = self._report(state, outcome, message)
        if outcome in ("nothing-to-do", "error", "budget") and state.change is None:
            self.repo.delete_branch(state.branch)
            return self._final(report)
        commit = write_records(
            self.repo,
            worktree,
            report,
            self.config.directives.identity,
            state.proposal.rationale if state.proposal else "",
        )
        report = replace(report, commit=commit)
        if not keep_branch:
            n = state.branch.rsplit("/", 1)[1]
            ref = f"refs/ratchet/rejected/{state.goal.id}/{n}"
            self.repo.archive(ref, commit)
            self.repo.delete_branch(state.branch)
            report = replace(report, rejected_ref=ref)
        return self._final(report)

    def _report(self, state: _Attempt, outcome: Outcome, message: str) -> CycleReport:
        proposal = state.proposal
        decision = state.decision
        return CycleReport(
            cycle_id=state.cycle_id,
            goal=state.goal.id,
            outcome=outcome,
            message=message,
            branch=state.branch,
            target=state.target,
            target_before=state.target_before,
            target_after=state.target_before,
            attempt=state.attempt,
            provider=proposal.provider if proposal else "",
            model=proposal.model if proposal else "",
            summary=proposal.summary if proposal else "",
            rules=decision.outcomes if decision else (),
            baseline=state.baseline,
            candidate=state.candidate,
            change=state.change,
            roi=state.roi,
            usage=proposal.usage if proposal else Usage(),
            started=state.started,
            notes=tuple(state.notes),
            fingerprint=state.fingerprint,
        )

    def _final(self, report: CycleReport) -> CycleReport:
        after = self.repo.rev_parse(f"refs/heads/{report.target}") if report.target else None
        return replace(
            report, target_after=after, finished=self.clock().isoformat(timespec="seconds")
        )

    def _bare(
        self,
        goal: str | None,
        target: str,
        tip: str,
        outcome: Outcome,
        message: str,
        baseline: Metrics | None = None,
    ) -> CycleReport:
        now = self.clock().isoformat(timespec="seconds")
        report = CycleReport(
            cycle_id=self._cycle_id(goal or "none", 0),
            goal=goal,
            outcome=outcome,
            message=message,
            target=target,
            target_before=tip,
            target_after=tip,
            baseline=baseline,
            started=now,
            finished=now,
        )
        journal.append(self.repo.state_dir, report)
        return report

    def _remember_pending(self, state: _Attempt, commit: str) -> None:
        journal.add_pending(
            self.repo.state_dir,
            {
                "goal": state.goal.id,
                "branch": state.branch,
                "commit": commit,
                "target": state.target,
                "target_before": state.target_before,
                "cycle_id": state.cycle_id,
            },
        )

    def _goal_met(self, goal: Goal, baseline: Metrics) -> bool:
        from engine.gate.policy.context import build_context
        from engine.gate.policy.engine import goal_met

        context = build_context(
            baseline=baseline, candidate=baseline, change=ChangeFacts(), goal=goal, cost={}, roi=0.0
        )
        return goal_met(goal, context)

    def _cycle_id(self, goal_id: str, n: int) -> str:
        stamp = self.clock().strftime("%Y%m%dT%H%M%SZ")
        return f"{stamp}-{goal_id}-{n}-{os.getpid() % 10000:04d}"
