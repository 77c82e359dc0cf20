"""What ``status`` and the report show of a goal's plan and ``done_when``: the progress and
next sub-task from the goal's newest plan page (in its newest record commit), and the
forecast at the current rate (:mod:`engine.records.forecast`). Reads git, writes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from engine.gate.paths import plan_path
from engine.model import Goal
from engine.model.journal import JournalEntry
from engine.records.forecast import forecast
from engine.vcs import Repository


def plan_progress(repo: Repository, entries: Sequence[JournalEntry], goal: Goal) -> list[str]:
    """``["progress: 2 done, ...", "next: `file:fn`"]`` from the newest plan page of
    ``goal`` ([] when it was never planned, or the commit is not in this clone)."""
    planned = [e for e in entries if e.goal == goal.id and e.commit and e.data.get("subtask")]
    if not planned:
        return []
    page = repo.show_file(planned[-1].commit or "", plan_path(goal.id)) or ""
    return [
        line[2:].strip()
        for line in page.splitlines()
        if line.startswith(("- progress:", "- next:"))
    ]


def goal_outlook(repo: Repository, entries: Sequence[JournalEntry], goal: Goal) -> list[str]:
    """The plan's progress and the ``done_when`` forecast of ``goal``, as short phrases."""
    parts = plan_progress(repo, entries, goal)
    seen = forecast(goal, [e for e in entries if e.goal == goal.id])
    if seen is not None:
        parts.append(f"forecast: {seen.sentence()}")
    return parts
