"""The names a cycle gives things, in one place: candidate branches, archive refs, worktree
directories and cycle ids. Ref and branch spellings themselves are defined by
:mod:`engine.vcs.refs`; nothing in the cycle writes one inline."""

from __future__ import annotations

import os
from datetime import datetime

from engine.vcs import branch_number, branch_ref, candidate_branch, question_ref, rejected_ref

__all__ = [
    "branch_number",
    "branch_ref",
    "candidate_branch",
    "cycle_id",
    "archive_ref_of",
    "rejected_ref",
    "rejected_ref_of",
    "worktree_name",
]


def cycle_id(now: datetime, goal_id: str, n: int, pid: int | None = None) -> str:
    """``<UTC stamp>-<goal>-<n>-<pid % 10000>``: unique per attempt, sortable by time."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    pid = os.getpid() if pid is None else pid
    return f"{stamp}-{goal_id}-{n}-{pid % 10000:04d}"


def worktree_name(goal_id: str, n: int) -> str:
    """The candidate worktree's directory under ``.ratchet/worktrees/``."""
    return f"{goal_id}-{n}"


def rejected_ref_of(goal_id: str, branch: str) -> str:
    """Where the candidate on ``branch`` (``ratchet/<goal>/<n>``) is archived."""
    return rejected_ref(goal_id, branch_number(branch))


def archive_ref_of(goal_id: str, branch: str, outcome: str) -> str:
    """Where the commit of an attempt that ended ``outcome`` on ``branch`` is kept: a
    question's records under ``refs/ratchet/questions/``, anything else as rejected."""
    if outcome == "question":
        return question_ref(goal_id, branch_number(branch))
    return rejected_ref_of(goal_id, branch)
