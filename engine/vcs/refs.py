"""The names of ratchet's branches and refs, defined once.

- ``ratchet/<goal>/<n>``: a candidate branch (``refs/heads/ratchet/...``);
- ``refs/ratchet/<kind>/<goal>/<n>``: archives (``rejected`` keeps a rejected candidate);
- ``refs/notes/ratchet``: git notes with the full evidence of each recorded commit.

The number ``n`` is never reused for a goal (see ``RepositoryCore.next_branch_number``).
"""

from __future__ import annotations

BRANCH_PREFIX = "ratchet/"
"""Every branch ratchet makes starts with this (short name)."""

BRANCH_REFS = f"refs/heads/{BRANCH_PREFIX}"
"""The full-ref prefix of ratchet's branches."""

ARCHIVE_REFS = "refs/ratchet/"
"""The prefix of ratchet's archive refs (never branches, never fetched by default)."""

REJECTED_REFS = f"{ARCHIVE_REFS}rejected/"

QUESTION_REFS = f"{ARCHIVE_REFS}questions/"
"""Where the records-only commit of an attempt that asked a question is kept."""

ZERO_SHA = "0" * 40
"""As ``old`` of a compare-and-swap: "the ref must not exist yet"."""

NOTES_REF = "refs/notes/ratchet"
"""The git notes ref holding each record commit's full evidence (``engine.vcs.notes``)."""


def branch_ref(branch: str) -> str:
    """``refs/heads/<branch>`` for a short branch name."""
    return f"refs/heads/{branch}"


def candidate_branch(goal_id: str, n: int) -> str:
    """The branch of attempt ``n`` at ``goal_id``: ``ratchet/<goal>/<n>``."""
    return f"{BRANCH_PREFIX}{goal_id}/{n}"


def rejected_ref(goal_id: str, n: int) -> str:
    """Where a rejected candidate ``ratchet/<goal>/<n>`` is archived."""
    return f"{REJECTED_REFS}{goal_id}/{n}"


def question_ref(goal_id: str, n: int) -> str:
    """Where attempt ``ratchet/<goal>/<n>``'s question record is kept."""
    return f"{QUESTION_REFS}{goal_id}/{n}"


def branch_number(branch: str) -> int:
    """``n`` of ``ratchet/<goal>/<n>``; ValueError for any other name."""
    return int(branch.rsplit("/", 1)[1])
