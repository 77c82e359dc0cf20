"""The only package that runs git. See ``repository.Repository`` for the safety contract.

The result types (``engine.vcs.results``) are imported on first use: a command that only
reads (``ratchet status``) makes none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.vcs.core import STATE_DIR, RepositoryCore
from engine.vcs.git import Git, GitResult, RefusedOperation, UnusableRepository
from engine.vcs.listed import ListedRefs
from engine.vcs.messages import format_message, parse_trailers
from engine.vcs.refs import (
    ARCHIVE_REFS,
    BRANCH_PREFIX,
    BRANCH_REFS,
    QUESTION_REFS,
    REJECTED_REFS,
    ZERO_SHA,
    branch_number,
    branch_ref,
    candidate_branch,
    question_ref,
    rejected_ref,
)
from engine.vcs.repository import Repository

if TYPE_CHECKING:
    from engine.vcs.results import FFKind, FFResult, FileChange, RevertResult, WorktreeInfo

__all__ = [
    "ARCHIVE_REFS",
    "BRANCH_PREFIX",
    "BRANCH_REFS",
    "QUESTION_REFS",
    "REJECTED_REFS",
    "STATE_DIR",
    "ZERO_SHA",
    "FFKind",
    "FFResult",
    "FileChange",
    "Git",
    "GitResult",
    "ListedRefs",
    "RefusedOperation",
    "Repository",
    "RepositoryCore",
    "RevertResult",
    "UnusableRepository",
    "WorktreeInfo",
    "branch_number",
    "branch_ref",
    "candidate_branch",
    "format_message",
    "parse_trailers",
    "question_ref",
    "rejected_ref",
]

_RESULTS = frozenset({"FFKind", "FFResult", "FileChange", "RevertResult", "WorktreeInfo"})

if not TYPE_CHECKING:  # mypy sees the imports above; a module __getattr__ would hide typos

    def __getattr__(name: str) -> Any:
        if name not in _RESULTS:
            raise AttributeError(f"module 'engine.vcs' has no attribute {name!r}")
        value = getattr(importlib.import_module("engine.vcs.results"), name)
        globals()[name] = value
        return value
