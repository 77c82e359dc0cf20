"""The Provider protocol: the one seam between a model (or fixer) and the patcher.

A provider gets a :class:`ProposalRequest` and returns a :class:`~engine.model.Proposal`
(an edit plan). It never touches git and never writes files: it may only *read* files
under ``request.root`` (a worktree at the target tip). An empty ``edits`` tuple means
"nothing to propose". Faults are raised as :class:`~engine.errors.ProviderError`
subclasses; the cycle turns them into a recorded outcome.

A model provider may also offer ``review(ReviewRequest) -> Review`` (self-review, see
docs/providers.md): the cycle asks it, when the goal or the provider enables it, before
a candidate is measured. A review can only send a change back, never let one through:
the gate judges every candidate that passes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.model import Directives, Goal, Proposal, Usage


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
    similar: tuple[str, ...] = ()  # past failures like this work, any goal (engine.recall)
    goal_lessons: tuple[str, ...] = ()  # memory-bank/lessons/<goal>.md (engine.records.distil)
    state_dir: Path | None = None  # <repo>/.ratchet: caches, spend ledger
    # the human's answers to this goal's questions: "question 1: <q> — answer: <a>"
    answers: tuple[str, ...] = ()
    # the plan's current sub-task ("file:qualname"): the target before any other
    focus: tuple[str, ...] = ()


VERDICTS = ("ok", "off-goal", "changes-behaviour")
"""A self-review's verdicts: only ``ok`` lets the candidate go on to evaluation."""


@dataclass(frozen=True, kw_only=True)
class ReviewRequest:
    """The model's own change, to review before the gate measures it (self-review).

    ``request`` is the proposal's request (so the review shares its prompt prefix),
    ``diff`` the change as the patcher produced it, ``rules`` the project's rules in
    words, ``spent`` the proposal's usage (the review's calls are added to it).
    """

    request: ProposalRequest
    summary: str
    diff: str
    rules: tuple[str, ...] = ()
    spent: Usage = field(default_factory=Usage)


@dataclass(frozen=True, kw_only=True)
class Review:
    """A self-review: ``verdict`` (one of :data:`VERDICTS`), why, and the usage so far
    (``ReviewRequest.spent`` plus the review's own calls)."""

    verdict: str
    reason: str
    usage: Usage = field(default_factory=Usage)

    @property
    def passed(self) -> bool:
        return self.verdict == "ok"


class Provider(Protocol):
    """Produces edit plans. ``name`` is the registry key (e.g. ``"ruff"``)."""

    name: str
    needs_model: bool

    def propose(self, request: ProposalRequest) -> Proposal:
        """Return an edit plan for ``request.goal`` (empty edits: nothing to do)."""
        ...
