"""Candidate numbers: the ``n`` of ``ratchet/<goal>/<n>``, never used twice for a goal.

A number counts as used once anything ever carried it: a branch or one of ratchet's refs
(``refs/heads/ratchet/...``, ``refs/ratchet/<kind>/...``), a worktree directory
``.ratchet/worktrees/<goal>-<n>`` (even one whose branch is gone), an attempt in the journal
(merged and deleted branches included; run-once first reconciles the journal with the merges
in git, see :mod:`engine.records.reconcile`), or the high-water mark kept in
``.ratchet/branch-numbers.json``, which is written *before* the branch is created, so a run
killed between allocating and recording a number still never hands it out again.

Call :func:`allocate_number` while holding the repository's cycle lock: it is a
read-then-write of the high-water file. Within the process holding the lock, concurrent
cycles (``directives.workers``) are serialised by a module lock, so two threads never get
the same number.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from engine.records import journal
from engine.records.layout import branch_numbers_file
from engine.vcs import Repository

numbers_path = branch_numbers_file
_allocating = threading.Lock()


def allocate_number(repo: Repository, goal_id: str) -> int:
    """The next unused number for ``goal_id``, recorded as used before it is returned."""
    with _allocating:
        return _allocate(repo, goal_id)


def _allocate(repo: Repository, goal_id: str) -> int:
    used = [
        repo.next_branch_number(goal_id) - 1,
        *_worktree_numbers(repo.worktrees_dir, goal_id),
        *_journal_numbers(repo.state_dir, goal_id),
        _high_water(repo.state_dir).get(goal_id, 0),
    ]
    n = max(used) + 1
    _record(repo.state_dir, goal_id, n)
    return n


def _worktree_numbers(base: Path, goal_id: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(goal_id)}-(\d+)$")
    names = [child.name for child in base.iterdir()] if base.is_dir() else []
    return [int(m.group(1)) for m in map(pattern.match, names) if m]


def _journal_numbers(state_dir: Path, goal_id: str) -> list[int]:
    pattern = re.compile(rf"^ratchet/{re.escape(goal_id)}/(\d+)$")
    branches = [e.branch or "" for e in journal.read_journal(state_dir)]
    return [int(m.group(1)) for m in map(pattern.match, branches) if m]


def _high_water(state_dir: Path) -> dict[str, int]:
    try:
        data = json.loads(numbers_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or torn: the other sources still know every used number
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}


def _record(state_dir: Path, goal_id: str, n: int) -> None:
    """Atomically raise the goal's high-water mark to ``n`` (write a temp file, rename)."""
    marks = _high_water(state_dir)
    marks[goal_id] = max(n, marks.get(goal_id, 0))
    state_dir.mkdir(parents=True, exist_ok=True)
    path = numbers_path(state_dir)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(marks, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
