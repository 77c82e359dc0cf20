"""The few git operations the daemon needs that ``engine.vcs.Repository`` does not offer.

All run through ``engine.vcs``'s :class:`~engine.vcs.Git` runner (clean environment) with
hooks and signing disabled. They only ever write ratchet's own places: worktrees under
``.ratchet/runtime/``, scratch clones under ``.ratchet/canary/``, refs under ``refs/ratchet/``
and ``refs/tags/ratchet/``, and stale lock files of those refs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.errors import GitError
from engine.vcs import Git, RefusedOperation, Repository

_SAFE = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false", "-c", "tag.gpgSign=false")


def _git(repo: Repository, *args: str, cwd: Path | None = None, check: bool = True) -> str:
    return Git().run(*_SAFE, *args, cwd=cwd or repo.root, check=check)


def _inside(path: Path, base: Path, action: str) -> Path:
    resolved = path.resolve()
    if resolved.parent != base.resolve():
        raise RefusedOperation([action, str(path)], f"{path} is not directly under {base}")
    return resolved


def add_detached_worktree(repo: Repository, base: Path, name: str, commit: str) -> Path:
    """A detached worktree ``base/name`` at ``commit`` (``base`` is one of ratchet's dirs)."""
    path = _inside(base / name, base, "worktree add")
    base.mkdir(parents=True, exist_ok=True)
    repo.ensure_excluded()
    if path.exists():
        remove_worktree(repo, base, path)
    _git(repo, "worktree", "add", "--quiet", "--detach", str(path), commit)
    return path


def remove_worktree(repo: Repository, base: Path, path: Path) -> None:
    """Remove a worktree (or leftover directory) directly under ``base``, then prune."""
    path = _inside(path, base, "worktree remove")
    registered = {w.path.resolve() for w in repo.list_worktrees()}
    if path in registered and path.exists():
        _git(repo, "worktree", "remove", "--force", "--force", str(path), check=False)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    worktree_prune(repo)


def worktree_prune(repo: Repository) -> None:
    _git(repo, "worktree", "prune")


def clone_scratch(repo: Repository, dest: Path, commit: str, branch: str) -> Path:
    """A throw-away local clone at ``dest`` with ``branch`` checked out at ``commit``.

    The clone shares objects with the repository by hard links and has no remote pointing
    back (the canary must never push anything to the real repository).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git(repo, "clone", "--quiet", "--no-checkout", str(repo.root), str(dest))
    _git(repo, "checkout", "--quiet", "-B", branch, commit, cwd=dest)
    _git(repo, "remote", "remove", "origin", cwd=dest, check=False)
    return dest


def rev_list(repo: Repository, *args: str) -> list[str]:
    return _git(repo, "rev-list", *args).split()


def tree_id(repo: Repository, commit: str, path: str) -> str:
    """The object id of ``path`` at ``commit`` (a tree or blob), "" when absent."""
    result = Git().call("rev-parse", "--verify", "-q", f"{commit}:{path}", cwd=repo.root)
    return result.stdout.strip() if result.ok else ""


def fsck_report(repo: Repository, *, full: bool = False) -> tuple[bool, str]:
    """``git fsck``: whether it is clean, and the first lines of what it said. Connectivity
    only unless ``full``: every ref and worktree HEAD must reach whole objects (what a killed
    git can break), in seconds even on a large repository."""
    args = ["fsck", "--no-progress", "--no-dangling", *([] if full else ["--connectivity-only"])]
    result = Git(timeout=900).call(*_SAFE, *args, cwd=repo.root)
    text = (result.stdout + result.stderr).strip()
    return result.ok, "\n".join(text.splitlines()[:10])


def set_tag(repo: Repository, name: str, new: str, old: str | None) -> bool:
    """Move lightweight tag ``refs/tags/<name>`` (must be under ``ratchet/``) from ``old``
    (None: must not exist) to ``new``, compare-and-swap."""
    if not name.startswith("ratchet/"):
        raise RefusedOperation(["tag", name], "only tags under ratchet/ are ratchet's")
    from engine.vcs import ZERO_SHA

    try:
        return repo.update_ref_cas(f"refs/tags/{name}", new, old or ZERO_SHA)
    except GitError:
        return False
