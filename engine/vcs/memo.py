"""``MemoReads``: the reads of facts that cannot change, each asked of git once.

A commit's tree listing, the files changed between two commits and a file's text at a commit
are facts of immutable objects. One cycle asks for the same ones several times (the baseline's
cache key, the measurement, the gate, the guards), each a ``git`` process; here the answer is
remembered. Only a full object id is ever part of a key: a ref, a branch name or an abbreviated
id can come to name another object, so a read given one of those always asks git. Failures are
never remembered (an object may be missing only for now); a file is known absent from a commit
without asking git once that commit's tree listing is remembered, and an id ``rev_parse``
returned is known to name a commit. The repository's common directory is remembered too.
(An object known stays known: git prunes only unreachable objects, and only once they are
older than ``gc.pruneExpire``, two weeks by default.)

The memory is bounded (:data:`BUDGET` characters, least recently used dropped first) and safe to
share between threads. Rename detection (``-M``) follows the repository's ``diff.renameLimit``
as it was on first asking.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from engine.vcs.blobs import ls_tree, read_blobs
from engine.vcs.core import RepositoryCore, checked_arg
from engine.vcs.git import Git

if TYPE_CHECKING:  # engine.vcs.results is imported where a result is made (see vcs/__init__)
    from engine.vcs.results import FileChange

BUDGET = 32_000_000  # characters of remembered text and paths, over all entries
_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # a full SHA-1 or SHA-256 object id
# a folder path with no pathspec magic: no glob characters, no "." / ".." / empty segment
_SUBMODULE = "160000"  # a gitlink's mode
_PLAIN_DIR = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*/?")

T = TypeVar("T")


def is_object_id(value: str) -> bool:
    """True for a full object id (which always names that object, never a ref)."""
    return _OID.fullmatch(value) is not None


class Memo:
    """A bounded, thread-safe map from a key to a remembered value with a cost."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self._entries: OrderedDict[tuple[str, ...], tuple[Any, int]] = OrderedDict()
        self._spent = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> tuple[bool, Any]:
        """``(True, value)`` when ``key`` is remembered, else ``(False, None)``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            self._entries.move_to_end(key)
            return True, entry[0]

    def put(self, key: tuple[str, ...], value: Any, cost: int) -> None:
        """Remember ``value`` (unless it alone is over the budget), forgetting the least
        recently used entries until the total cost fits."""
        cost = max(cost, 1)
        if cost > self.budget:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self._spent -= old[1] if old else 0
            self._entries[key] = (value, cost)
            self._spent += cost
            while self._spent > self.budget:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._spent -= dropped

    def recall(self, key: tuple[str, ...], compute: Callable[[], T], cost: Callable[[T], int]) -> T:
        """The remembered value of ``key``, or ``compute()`` remembered (if it returns)."""
        found, value = self.get(key)
        if found:
            return value
        fresh = compute()
        self.put(key, fresh, cost(fresh))
        return fresh


class MemoReads(RepositoryCore):
    """``RepositoryCore`` whose reads of immutable objects (given as full object ids) are
    remembered; every other read asks git as before."""

    def __init__(self, root: Path, *, git: Git | None = None) -> None:
        super().__init__(root, git=git)
        self._memo = Memo()

    def git_common_dir(self) -> Path:
        if self._common_dir is None:
            self._common_dir = super().git_common_dir()
        return self._common_dir

    def rev_parse(self, ref: str, *, cwd: Path | None = None) -> str | None:
        if is_object_id(ref) and self._memo.get(("commit", ref))[0]:
            return ref  # a commit id that rev_parse returned before: it names that commit
        sha = super().rev_parse(ref, cwd=cwd)
        if sha is not None and is_object_id(sha):
            self._memo.put(("commit", sha), True, len(sha))
        return sha

    def ls_tree(self, commit: str) -> list[tuple[str, str, str]]:
        """``(mode, object id, path)`` of every file tracked at ``commit``, in git's order."""
        if not is_object_id(commit):
            return ls_tree(self, commit)
        entries = self._memo.recall(
            ("ls-tree", commit),
            lambda: tuple(ls_tree(self, commit)),
            lambda found: sum(len(path) + 100 for _, _, path in found),
        )
        return list(entries)

    def ls_files(self, commit: str, *, under: str = "") -> list[str]:
        if not is_object_id(commit) or (under and not _PLAIN_DIR.fullmatch(under)):
            return super().ls_files(commit, under=under)
        entries = self.ls_tree(commit)
        if not under:
            return [path for _, _, path in entries]
        folder = under.rstrip("/")  # git's `folder/` also matches a submodule named so
        return [
            path
            for mode, _, path in entries
            if path.startswith(f"{folder}/") or (path == folder and mode == _SUBMODULE)
        ]

    def show_file(self, commit: str, path: str) -> str | None:
        if not is_object_id(commit):
            return super().show_file(commit, path)
        key = ("blob", commit, path)
        found, text = self._memo.get(key)
        if found:
            return text
        if self._absent(commit, path):
            return None
        result = self._call("cat-file", "blob", f"{checked_arg(commit)}:{path}")
        if not result.ok:
            return None
        self._memo.put(key, result.stdout, len(result.stdout) + len(path))
        return result.stdout

    def _absent(self, commit: str, path: str) -> bool:
        """True when ``commit``'s remembered tree listing has no file ``path`` (a path git
        would resolve, ``./x``, ``x/../y``, a trailing ``/``, is never judged here)."""
        if any(part in ("", ".", "..") for part in path.split("/")):
            return False
        found, entries = self._memo.get(("ls-tree", commit))
        return found and all(listed != path for _, _, listed in entries)

    def show_files(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``(commit, path)`` -> the text of that file, for each pair that names a file; the
        ones not remembered read in one git process."""
        wanted = list(dict.fromkeys(pairs))
        out: dict[tuple[str, str], str] = {}
        missing = []
        for commit, path in wanted:
            found, text = self._memo.get(("blob", commit, path))
            if found and is_object_id(commit):
                out[commit, path] = text
            elif not (is_object_id(commit) and self._absent(commit, path)):
                missing.append((commit, path))
        read = read_blobs(self, [f"{checked_arg(c)}:{p}" for c, p in missing])
        for commit, path in missing:
            text = read.get(f"{commit}:{path}")
            if text is not None:
                out[commit, path] = text
                if is_object_id(commit):
                    self._memo.put(("blob", commit, path), text, len(text) + len(path))
        return out

    def changed_files(self, base: str, head: str) -> list[FileChange]:
        if not (is_object_id(base) and is_object_id(head)):
            return super().changed_files(base, head)
        changes = self._memo.recall(
            ("diff", base, head),
            lambda: tuple(super(MemoReads, self).changed_files(base, head)),
            lambda found: sum(len(c.path) + len(c.old_path or "") + 20 for c in found),
        )
        return list(changes)
