"""The cycle's side of plans and questions: which sub-task a planned goal works on, the
number a new question gets, and the memory-bank pages committed with each record.

The pure parts are :mod:`engine.cycle.plans` and :mod:`engine.cycle.questions`; this
module reads what they need (the tip's files and churn through the repository, the
records through the journal and git) and never writes anything itself: the pages reach
git only through the record writer, in the attempt's own commit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from engine.cycle.plans import SubTask, may_plan, plan_state, rank_scope, render_plan, wanted
from engine.cycle.protocols import Seams
from engine.cycle.questions import asked, next_number, render_questions
from engine.cycle.state import Ending
from engine.gate.paths import QUESTIONS_FILE, plan_path, scope_files, sources_first
from engine.model import CycleReport, Goal, Metrics
from engine.model.journal import JournalEntry
from engine.vcs.blobs import read_blobs


class Planner:
    """Per :class:`~engine.cycle.orchestrator.Cycle`: the ranking of each planned goal
    this run (for its pages) and the question numbers handed out (workers > 1 ask at
    once: a number is taken under a lock, so two questions never share one)."""

    def __init__(self) -> None:
        self._ranked: dict[str, list[SubTask]] = {}
        self._taken: set[int] = set()
        self._lock = threading.Lock()

    def subtask(
        self,
        s: Seams,
        goal: Goal,
        tip: str,
        baseline: Metrics,
        provider: str,
        history: Sequence[JournalEntry],
    ) -> str:
        """The sub-task the next attempt at ``goal`` works on ("" when it is not planned)."""
        if not may_plan(goal, provider):
            return ""
        files = scope_files(s.repo.ls_files(tip), goal, s.config.directives.protected_paths)
        files = sources_first(files)
        texts = read_blobs(s.repo, [f"{tip}:{f}" for f in files if f.endswith(".py")])
        sources = {spec.split(":", 1)[1]: text for spec, text in texts.items()}
        size = int(goal.options.get("plan_size", 20))
        ranked = rank_scope(sources, s.repo.churn(tip), baseline.coverage.files, size)
        if not wanted(goal, ranked, provider):
            return ""
        with self._lock:
            self._ranked[goal.id] = ranked
        step = plan_state(goal.id, ranked, history).next
        return step.key if step else ""

    def number(self, s: Seams, ending: Ending, history: Sequence[JournalEntry]) -> Ending:
        """``ending`` (outcome ``question``) with the question's number: the next after
        every question in the records (journal and git) and those asked in this run."""
        from engine.records.history import load_history

        with self._lock:
            known = asked([*history, *load_history(s.repo)])
            n = max(next_number(known), max(self._taken, default=0) + 1)
            self._taken.add(n)
        a = replace(ending.attempt, question=n)
        return replace(ending, attempt=a, message=f"question {n}: {ending.message}")

    def pages(self, s: Seams, report: CycleReport) -> dict[str, str]:
        """The plan page of ``report``'s goal (when planned) and the questions page (when
        any was asked), rendered from the records including ``report`` itself."""
        history = [*s.journal.read(), JournalEntry.from_json(report.to_json())]
        out: dict[str, str] = {}
        questions = asked(history)
        if questions:
            out[QUESTIONS_FILE] = render_questions(questions, s.config.goals)
        goal = next((g for g in s.config.goals if g.id == report.goal), None)
        with self._lock:
            ranked = self._ranked.get(report.goal or "")
        if goal is not None and ranked is not None:
            from engine.records.forecast import forecast

            plan = plan_state(goal.id, ranked, history)
            seen = forecast(goal, history)
            out[plan_path(goal.id)] = render_plan(plan, goal, seen.sentence() if seen else "")
        return out
