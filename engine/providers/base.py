"""The Provider protocol: the one seam between a model (or fixer) and the patcher.

A provider gets a :class:`ProposalRequest` and returns a :class:`~engine.model.Proposal`
(an edit plan). It never touches git and never writes files: it may only *read* files
under ``request.root`` (a worktree at the target tip). An empty ``edits`` tuple means
"nothing to propose". Faults are raised as :class:`~engine.errors.ProviderError`
subclasses; the cycle turns them into a recorded outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.model import Directives, Goal, Proposal


@dataclass(frozen=True, kw_only=True)
class ProposalRequest:
    goal: Goal
    root: Path  # a worktree at the target tip (read only for providers)
    files: tuple[str, ...]  # repo-relative files in the goal's scope
    directives: Directives = field(default_factory=Directives)
    attempt: int = 1  # 1-based attempt number within this cycle
    feedback: str = ""  # why the previous attempt of this cycle failed (refine loop)
    history: tuple[str, ...] = ()  # why earlier attempts at this goal were rejected
    lessons: tuple[str, ...] = ()  # memory-bank lessons
    state_dir: Path | None = None  # <repo>/.ratchet: caches, spend ledger


class Provider(Protocol):
    """Produces edit plans. ``name`` is the registry key (e.g. ``"ruff"``)."""

    name: str
    needs_model: bool

    def propose(self, request: ProposalRequest) -> Proposal:
        """Return an edit plan for ``request.goal`` (empty edits: nothing to do)."""
        ...
