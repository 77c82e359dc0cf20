"""Frozen values returned by ``engine.vcs`` and the pure parsers of git's porcelain output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.vcs.refs import ZERO_SHA

__all__ = ["ZERO_SHA", "FFKind", "FFResult", "FileChange", "RevertResult", "WorktreeInfo"]

FFKind = Literal["updated-ref", "fast-forwarded", "dirty", "moved", "not-ff"]


@dataclass(frozen=True)
class FileChange:
    """One line of ``git diff --name-status -M``: status letter A/M/D/R/C/T, the path (the new
    path of a rename or copy) and, for renames and copies, the old path."""

    status: str
    path: str
    old_path: str | None = None


@dataclass(frozen=True)
class WorktreeInfo:
    """One entry of ``git worktree list --porcelain``; ``branch`` is short (``main``)."""

    path: Path
    head: str | None
    branch: str | None
    bare: bool = False
    detached: bool = False
    locked: bool = False
    prunable: bool = False


@dataclass(frozen=True)
class FFResult:
    """Outcome of ``Repository.fast_forward``.

    - ``updated-ref``: the branch was not checked out; its ref moved from old to new.
    - ``fast-forwarded``: it was checked out in a clean worktree, which now has ``new``.
    - ``dirty``: it is checked out where we must not touch it (local changes, a file in the way,
      a rebase or bisect in progress); nothing was changed.
    - ``moved``: the branch is no longer at ``old``; nothing was changed.
    - ``not-ff``: ``new`` does not descend from ``old``; nothing was changed.
    """

    kind: FFKind
    branch: str
    old: str
    new: str
    worktree: Path | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind in ("updated-ref", "fast-forwarded")


@dataclass(frozen=True)
class RevertResult:
    """Outcome of ``Repository.revert``: the revert commit and whether the branch took it.

    When ``ff.ok`` is false the commit exists but the branch did not move (see ``ff.kind``).
    """

    commit: str
    ff: FFResult

    @property
    def applied(self) -> bool:
        return self.ff.ok

    def __str__(self) -> str:
        if self.applied:
            return f"reverted with {self.commit[:12]} on {self.ff.branch} ({self.ff.kind})"
        why = f": {self.ff.detail}" if self.ff.detail else ""
        return (
            f"made revert commit {self.commit[:12]} but {self.ff.branch} was not moved "
            f"({self.ff.kind}{why}); run the revert again when that is resolved"
        )


def parse_worktree_list(output: str) -> list[WorktreeInfo]:
    """Parse ``git worktree list --porcelain -z``."""
    infos = []
    for record in output.split("\0\0"):
        if not record.strip("\0"):
            continue
        attrs: dict[str, str] = {}
        for line in record.strip("\0").split("\0"):
            key, _, value = line.partition(" ")
            attrs[key] = value
        branch = attrs.get("branch")
        infos.append(
            WorktreeInfo(
                path=Path(attrs["worktree"]),
                head=attrs.get("HEAD"),
                branch=branch.removeprefix("refs/heads/") if branch else None,
                bare="bare" in attrs,
                detached="detached" in attrs,
                locked="locked" in attrs,
                prunable="prunable" in attrs,
            )
        )
    return infos


def parse_name_status(output: str) -> list[FileChange]:
    """Parse ``git diff --name-status -z`` (renames/copies carry two paths)."""
    fields = output.split("\0")
    changes = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i][0]
        if status in "RC":
            changes.append(FileChange(status, fields[i + 2], fields[i + 1]))
            i += 3
        else:
            changes.append(FileChange(status, fields[i + 1]))
            i += 2
    return changes


def parse_status_paths(output: str) -> list[str]:
    """Paths of ``git status --porcelain=v1 -z --no-renames`` entries."""
    return [entry[3:] for entry in output.split("\0") if entry]
