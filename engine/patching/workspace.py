"""The one writer of files: puts a patched file set into a candidate worktree.

Every path was already checked by :func:`engine.gate.paths.check_path`; this layer
checks again against the real filesystem, because a worktree can contain symlinks
(committed by a human, or by an earlier candidate) that would lead a write outside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.errors import InputError


def safe_target(root: Path, rel: str) -> Path:
    """``root / rel`` if no component of it is a symlink and it stays inside ``root``."""
    root = root.resolve()
    path = root
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            raise InputError(
                f"{rel}: refusing to write through the symlink {path.relative_to(root)}"
            )
    if not path.resolve().is_relative_to(root):
        raise InputError(f"{rel}: resolves outside the worktree")
    return path


def read_text(root: Path, rel: str) -> str | None:
    """The file's text, or None when it does not exist. Non-UTF-8 bytes are kept as
    surrogate escapes so a rewrite can never silently change them."""
    path = safe_target(root, rel)
    if not path.is_file():
        return None
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = safe_target(root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
