"""Which goal runs next, which files it may touch, and what happened to it before.

Pure functions over the goals and the journal entries
(:class:`~engine.model.journal.JournalEntry`, parsed once by :mod:`engine.records.journal`);
no I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from engine.errors import InputError
from engine.model import Goal
from engine.model.journal import JournalEntry


def order_goals(
    goals: Sequence[Goal], history: Sequence[JournalEntry], goal_id: str | None = None
) -> list[Goal]:
    """The goals to try, in order: just ``goal_id`` if given (it must exist), else the
    active goals by priority (highest first), ties broken by least recently tried."""
    if goal_id is not None:
        for goal in goals:
            if goal.id == goal_id:
                return [goal]
        known = ", ".join(g.id for g in goals) or "(none)"
        raise InputError(f"no goal {goal_id!r} in goals.yaml; known goals: {known}")
    last_tried: dict[str, str] = {}
    for entry in history:
        if entry.goal:
            last_tried[entry.goal] = entry.started
    active = [g for g in goals if g.status == "active"]
    return sorted(active, key=lambda g: (-g.priority, last_tried.get(g.id, ""), g.id))


def rejection_history(
    history: Sequence[JournalEntry], goal_id: str, limit: int = 5
) -> tuple[str, ...]:
    """Why earlier attempts at this goal were rejected, the newest ``limit`` (0: none;
    goal option ``earlier_rejections``), newest last:
    ``"coverage-ratchet: candidate.coverage.percent=79.9 vs ..."``."""
    if limit <= 0:
        return ()
    reasons: list[str] = []
    for entry in history:
        if entry.goal != goal_id or entry.outcome != "rejected":
            continue
        if (entry.data.get("human") or {}).get("action"):
            continue  # a human's decision: engine.records.decisions.decision_reasons
        failed = [f"{r.id}: {r.detail}" for r in entry.failed_rules]
        summary = entry.summary or "(no summary)"
        reasons.append(f"{summary} -> " + ("; ".join(failed) or entry.message))
    return tuple(reasons[-limit:])


def diff_fingerprint(diff: str) -> str:
    """Identity of a proposed change: the same diff -> the same fingerprint, whatever goal
    proposed it (a change a human turned down is turned down for every goal)."""
    return hashlib.sha256(diff.encode()).hexdigest()[:20]


def rejected_fingerprints(history: Sequence[JournalEntry]) -> set[str]:
    """The fingerprints of every rejected candidate: a proposal with one is not evaluated."""
    return {e.fingerprint for e in history if e.outcome == "rejected" and e.fingerprint}
