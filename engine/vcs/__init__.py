"""The only package that runs git. See ``repository.Repository`` for the safety contract."""

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
    branch_number,
    branch_ref,
    candidate_branch,
    question_ref,
    rejected_ref,
)
from engine.vcs.repository import Repository
from engine.vcs.results import (
    ZERO_SHA,
    FFKind,
    FFResult,
    FileChange,
    RevertResult,
    WorktreeInfo,
)

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
