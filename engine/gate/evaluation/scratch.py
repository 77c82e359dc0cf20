"""Throwaway copies of a checkout for running candidate code, and what a run changed in them.

Candidate code never writes the candidate worktree itself: the tests run in a copy, so
nothing a run leaves behind (a rewritten test, a symlink out of the repository, a conftest
created mid-run) can reach the commit ratchet records and may merge. Comparing the copy
before and after the run tells the guards what the run tried to change.

Copies keep symlinks as symlinks (never followed) and copy the worktree's ``.git`` file,
so tests that read git metadata behave as they would in the worktree (read-only there).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

MAX_CHANGES = 100  # entries kept in a change list; one more entry says how many were dropped

# A file created by a run is reported when it could change what a later import, test
# collection or tool run does: code by its suffix, configuration by the names the tools
# read; plain data files (logs, outputs, a test's own ``output.toml`` or ``settings.ini``:
# tomlkit's doctests write one) are not.
_CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".pth", ".so")
_CODE_NAMES = frozenset(
    {
        "conftest.py", ".coveragerc", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml",
        "tox.ini", "tox.toml", "setup.cfg", "pyproject.toml", "ruff.toml", ".ruff.toml",
        "mypy.ini", ".mypy.ini", ".bandit", "noxfile.py",
    }
)  # fmt: skip


def scratch_copy(checkout: Path, dest: Path) -> Path:
    """Copy ``checkout`` to ``dest`` (which must not exist, or be an empty directory: a
    warm start's, bound into its sandbox before the copy); returns ``dest``."""
    if dest.is_dir() and not dest.is_symlink() and next(dest.iterdir(), None) is None:
        shutil.copytree(checkout, dest, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copytree(checkout, dest, symlinks=True)
    return dest


def tree_state(root: Path) -> dict[str, str]:
    """``relative path -> content hash`` of every file under ``root`` (symlinks as
    ``link:<target>``, never followed; the top-level ``.git`` file or directory left out)."""
    state: dict[str, str] = {}
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        if here == root:  # git's own files change under git commands; they are not the code
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in [*filenames, *(d for d in dirnames if (here / d).is_symlink())]:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if rel == ".git":
                continue
            state[rel] = _fingerprint(path)
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
    return state


def run_changes(before: dict[str, str], after: dict[str, str]) -> tuple[str, ...]:
    """What a run changed: ``modified: p``, ``deleted: p``, ``symlink: p -> target`` and
    ``created: p`` for created code or configuration files, sorted, at most ``MAX_CHANGES``."""
    changes: list[str] = []
    for rel in sorted(before.keys() | after.keys()):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        if new is None:
            changes.append(f"deleted: {rel}")
        elif new.startswith("link:"):
            changes.append(f"symlink: {rel} -> {new[5:]}")
        elif old is not None:
            changes.append(f"modified: {rel}")
        elif _is_code(rel):
            changes.append(f"created: {rel}")
    if len(changes) > MAX_CHANGES:
        dropped = len(changes) - MAX_CHANGES
        changes = [*changes[:MAX_CHANGES], f"... {dropped} more"]
    return tuple(changes)


def _is_code(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name in _CODE_NAMES or name.endswith(_CODE_SUFFIXES)


def _fingerprint(path: Path) -> str:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):  # a fifo would block open(); its kind is its identity
        return f"special:{stat.S_IFMT(info.st_mode):o}"
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:  # unreadable (permissions changed by the run)
        return f"unreadable:{type(exc).__name__}"
    return digest.hexdigest()
