"""The git operations the daemon needs beyond ``Repository``: self-hosting runtimes, canary
clones, history walks, fsck and ratchet's tags.

Every call goes through the repository's own runner (``RepositoryCore._call``): the one
safety config of :mod:`engine.vcs.safety`, the clean environment, and the isolation of
ratchet's candidate worktrees. They only ever write ratchet's own places: detached worktrees
directly under a directory the caller names (``.ratchet/runtime/``), scratch clones
(``.ratchet/canary/``), refs under ``refs/ratchet/`` and ``refs/tags/ratchet/``, and stale lock
files of those refs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.errors import GitError
from engine.vcs.core import checked_arg
from engine.vcs.git import Git, RefusedOperation
from engine.vcs.repository import Repository
from engine.vcs.results import ZERO_SHA

FSCK_TIMEOUT = 900.0


def add_detached_worktree(repo: Repository, base: Path, name: str, commit: str) -> Path:
    """A detached worktree ``base/name`` at ``commit`` (``base`` is one of ratchet's dirs);
    one left there before is replaced. Refuses a ``name`` that leaves ``base``."""
    if (base / name).exists():
        repo.remove_worktree(base / name, base=base)
    return repo.add_worktree(name, commit=commit, branch=None, base=base)


def clone_scratch(repo: Repository, dest: Path, commit: str, branch: str) -> Path:
    """A throw-away local clone at ``dest`` with ``branch`` checked out at ``commit``.

    The clone shares objects with the repository by hard links and has no remote pointing
    back (the canary must never push anything to the real repository).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    repo._run("clone", "--quiet", "--no-checkout", str(repo.root), str(dest))
    repo._run("checkout", "--quiet", "-B", checked_arg(branch), checked_arg(commit), cwd=dest)
    repo._call("remote", "remove", "origin", cwd=dest)
    return dest


def rev_list(repo: Repository, *args: str) -> list[str]:
    return repo._run("rev-list", *args).split()


def tree_id(repo: Repository, commit: str, path: str) -> str:
    """The object id of ``path`` at ``commit`` (a tree or blob), "" when absent."""
    result = repo._call("rev-parse", "--verify", "-q", f"{checked_arg(commit)}:{path}")
    return result.stdout.strip() if result.ok else ""


def fsck_report(repo: Repository, *, full: bool = False) -> tuple[bool, str]:
    """``git fsck``: whether it is clean, and the first lines of what it said. Connectivity
    only unless ``full``: every ref and worktree HEAD must reach whole objects (what a killed
    git can break), in seconds even on a large repository."""
    args = ["fsck", "--no-progress", "--no-dangling", *([] if full else ["--connectivity-only"])]
    result = Git(timeout=FSCK_TIMEOUT).call(*args, cwd=repo.root)
    text = (result.stdout + result.stderr).strip()
    return result.ok, "\n".join(text.splitlines()[:10])


def set_tag(repo: Repository, name: str, new: str, old: str | None) -> bool:
    """Move lightweight tag ``refs/tags/<name>`` (must be under ``ratchet/``) from ``old``
    (None: must not exist) to ``new``, compare-and-swap."""
    if not name.startswith("ratchet/"):
        raise RefusedOperation(["tag", name], "only tags under ratchet/ are ratchet's")
    try:
        return repo.update_ref_cas(f"refs/tags/{name}", new, old or ZERO_SHA)
    except GitError:
        return False
