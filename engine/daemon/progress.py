"""Which goal and step the running cycle is at, seen from outside the child.

Two sources, best first: the JSON the cycle may write to ``RATCHET_PROGRESS_FILE``
(``{"goal": ..., "step": ...}``), else the candidate worktree it creates —
``.ratchet/worktrees/<goal>-<n>`` on branch ``ratchet/<goal>/<n>`` — which names the goal
(step ``candidate``). Polled about ten times a second while a cycle runs; git is asked only
when the set of worktree directories changes.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.daemon.paths import StatePaths
from engine.daemon.status import read_json
from engine.vcs import Repository
from engine.vcs.refs import BRANCH_REFS


class ProgressFollower:
    """Follows one cycle; make a new one per cycle. No I/O in the constructor."""

    def __init__(self, repo: Repository, paths: StatePaths) -> None:
        self.repo = repo
        self.paths = paths
        self._names: frozenset[str] = frozenset()

    def poll(self, goal: str | None, step: str) -> tuple[str | None, str]:
        """The cycle's (goal, step) now, given what was known before."""
        progress = read_json(self.paths.progress, None)
        if isinstance(progress, dict):
            return (
                str(progress.get("goal") or goal or "") or None,
                str(progress.get("step") or step),
            )
        names = frozenset(_listdir(self.paths.worktrees))
        if names != self._names:
            self._names = names
            found = self._goal_of(names)
            if found is not None:
                return found, "candidate"
        return goal, step

    def _goal_of(self, names: frozenset[str]) -> str | None:
        for ref in self.repo.list_refs(BRANCH_REFS):
            parts = ref.removeprefix(BRANCH_REFS).split("/")
            if len(parts) == 2 and f"{parts[0]}-{parts[1]}" in names:
                return parts[0]
        return None


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []
