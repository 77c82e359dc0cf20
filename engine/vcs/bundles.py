"""Git bundles: how a commit travels to an evaluation worker on another machine.

The daemon writes a *baseline* bundle (the history up to the baseline commit) once per
baseline and a *thin* bundle per candidate (``base..candidate``: only the candidate's new
objects). A worker keeps one private repository per source repository and fetches both
into it; nothing here touches the source repository's branches, working tree or index. A
bundle names its tip by a ref, so :func:`write_bundle` points a short-lived ref under
``refs/ratchet/ship/`` at the commit and deletes it again.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

from engine.errors import GitError
from engine.vcs.core import RepositoryCore, checked_arg
from engine.vcs.git import Git
from engine.vcs.refs import ARCHIVE_REFS
from engine.vcs.results import ZERO_SHA

SHIP_REFS = f"{ARCHIVE_REFS}ship/"
EVAL_REFS = f"{ARCHIVE_REFS}eval/"  # in a worker's repository: every commit it received
_count = itertools.count(1)


def write_bundle(repo: RepositoryCore, commit: str, *, base: str | None = None) -> bytes:
    """The bytes of a bundle holding ``commit`` (and its history; only ``base..commit`` when
    ``base`` is given, so the receiver must have ``base``)."""
    ref = f"{SHIP_REFS}{checked_arg(commit)[:12]}-{os.getpid()}-{next(_count)}"
    if not repo.update_ref_cas(ref, commit, ZERO_SHA):
        raise GitError(["update-ref", ref], 1, f"{ref} exists already")
    try:
        with tempfile.TemporaryDirectory(prefix="ratchet-bundle-") as tmp:
            path = Path(tmp) / "candidate.bundle"
            excluded = [f"^{checked_arg(base)}"] if base and base != commit else []
            repo._run("bundle", "create", "--quiet", str(path), ref, *excluded)
            return path.read_bytes()
    finally:
        repo.delete_ref(ref, commit)


def receive_bundle(root: Path, data: bytes, commit: str, *, git: Git | None = None) -> None:
    """Fetch ``commit`` from bundle ``data`` into the worker repository at ``root`` (made
    on first use: a non-bare repository whose branch ``ratchet-eval`` points at the first
    commit received). Call with the worker's lock for ``root`` held."""
    git = git or Git()
    fresh = not (root / ".git").exists()
    if fresh:
        root.mkdir(parents=True, exist_ok=True)
        git.run("init", "-q", "-b", "ratchet-eval", cwd=root)
    with tempfile.TemporaryDirectory(prefix="ratchet-bundle-") as tmp:
        path = Path(tmp) / "in.bundle"
        path.write_bytes(data)
        heads = git.run("bundle", "list-heads", str(path), cwd=root).split()
        if checked_arg(commit) not in heads:
            raise GitError(["bundle", "list-heads"], 1, f"the bundle does not hold {commit}")
        ref = f"{EVAL_REFS}{commit}"
        name = heads[heads.index(commit) + 1]
        git.run("fetch", "-q", "--no-tags", str(path), f"+{name}:{ref}", cwd=root)
    if fresh:
        git.run("update-ref", "refs/heads/ratchet-eval", commit, cwd=root)


def has_commit(root: Path, commit: str, *, git: Git | None = None) -> bool:
    """Whether the worker repository at ``root`` holds ``commit``."""
    if not (root / ".git").exists():
        return False
    git = git or Git()
    return git.call("cat-file", "-e", f"{checked_arg(commit)}^{{commit}}", cwd=root).ok
