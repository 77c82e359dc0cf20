"""The only package that runs git. See ``repository.Repository`` for the safety contract."""

from engine.vcs.core import STATE_DIR, RepositoryCore, rejected_ref
from engine.vcs.git import Git, GitResult, RefusedOperation, UnusableRepository
from engine.vcs.messages import format_message, parse_trailers
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
    "STATE_DIR",
    "ZERO_SHA",
    "FFKind",
    "FFResult",
    "FileChange",
    "Git",
    "GitResult",
    "RefusedOperation",
    "Repository",
    "RepositoryCore",
    "RevertResult",
    "UnusableRepository",
    "WorktreeInfo",
    "format_message",
    "parse_trailers",
    "rejected_ref",
]
