"""Which goal runs next, which files it may touch, and what happened to it before.

Pure functions over the goals and the journal entries (dicts from
:mod:`engine.records.journal`); no I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from engine.errors import InputError
from engine.model import Goal


def order_goals(
    goals: Sequence[Goal], history: Sequence[dict[str, Any]], goal_id: str | None = None
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
        if entry.get("goal"):
            last_tried[str(entry["goal"])] = str(entry.get("started", ""))
    active = [g for g in goals if g.status == "active"]
    return sorted(active, key=lambda g: (-g.priority, last_tried.get(g.id, ""), g.id))


def rejection_history(
    history: Sequence[dict[str, Any]], goal_id: str, limit: int = 5
) -> tuple[str, ...]:
    """Why earlier attempts at this goal were rejected, newest last:
    ``"coverage-ratchet: candidate.coverage.percent=79.9 vs ..."``."""
    reasons: list[str] = []
    for entry in history:
        if entry.get("goal") != goal_id or entry.get("outcome") != "rejected":
            continue
        failed = [
            f"{r['id']}: {r.get('detail', '')}"
            for r in entry.get("rules", [])
            if r.get("applicable", True) and not r.get("passed")
        ]
        summary = entry.get("summary") or "(no summary)"
        reasons.append(f"{summary} -> " + ("; ".join(failed) or str(entry.get("message", ""))))
    return tuple(reasons[-limit:])


def diff_fingerprint(goal_id: str, diff: str) -> str:
    """Identity of a proposed change: same goal, same diff -> same fingerprint."""
    return hashlib.sha256(f"{goal_id}\0{diff}".encode()).hexdigest()[:20]


def rejected_fingerprints(history: Sequence[dict[str, Any]]) -> set[str]:
    return {
        str(e["fingerprint"])
        for e in history
        if e.get("outcome") == "rejected" and e.get("fingerprint")
    }
