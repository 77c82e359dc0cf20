"""``Repository``: everything ratchet does to a git repository, through the git CLI.

Safety contract (the tool runs unattended on other people's repositories): nothing here writes
the user's working tree, index or HEAD, with one exception — ``fast_forward`` of a branch that
is checked out in a clean worktree, which behaves like ``git pull --ff-only``. Candidate work
happens only in worktrees under ``<toplevel>/.ratchet/worktrees/``; calls that write a worktree
refuse any other path. No git hook ever runs (hooks are repository code), nothing is signed,
nothing is auto-stashed, and branches outside ``ratchet/`` are only ever moved forward, by a
compare-and-swap.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import GitError, InputError, RevertConflict
from engine.model import Identity
from engine.vcs.core import STATE_DIR, WORKTREES, checked_arg
from engine.vcs.git import RefusedOperation
from engine.vcs.history import read_log
from engine.vcs.memo import MemoReads

if TYPE_CHECKING:  # engine.vcs.results is imported where a result is made (see vcs/__init__)
    from engine.vcs.results import FFResult, RevertResult, WorktreeInfo

# Concurrent cycles of one process (directives.workers) move targets one at a time: the
# checked-out case is a check-then-merge that git's ref lock alone does not make atomic.
_moving = threading.Lock()

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a worktree directory name


def _identity_args(author: Identity) -> tuple[list[str], dict[str, str]]:
    """``-c user.*`` flags and GIT_AUTHOR_*/GIT_COMMITTER_* env: the bot is author and committer."""
    config = ["-c", f"user.name={author.name}", "-c", f"user.email={author.email}"]
    env = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }
    return config, env


class Repository(MemoReads):
    """A git repository with a working tree: ``RepositoryCore``'s reads and refs (the reads of
    immutable objects remembered, ``MemoReads``), plus
    ratchet's worktrees, commits, rebases and the guarded moves of target branches.

    The constructor does no I/O; ``Repository.open(path)`` resolves and checks a user path.
    """

    def add_worktree(
        self, name: str, *, commit: str, branch: str | None, base: Path | None = None
    ) -> Path:
        """Create ``<base>/<name>`` at ``commit`` (``base``: one of ratchet's directories under
        ``.ratchet/``, default ``.ratchet/worktrees``): on new branch ``branch`` (which must not
        exist yet), or detached when ``branch`` is None. Also makes sure ``.ratchet/`` is in
        ``.git/info/exclude``."""
        if not _NAME.match(name):
            raise RefusedOperation(["worktree", "add", name], f"bad worktree name {name!r}")
        base = base or self.worktrees_dir
        path = base / name
        base.mkdir(parents=True, exist_ok=True)
        self.ensure_excluded()
        where = ["-b", checked_arg(branch), "--no-track"] if branch else ["--detach"]
        with WORKTREES:  # one worktree command at a time (engine.vcs.core)
            try:
                self._run("worktree", "add", "--quiet", *where, str(path), checked_arg(commit))
            except GitError:
                raise
            except BaseException:
                # Interrupted (SIGTERM, Ctrl-C) while git was adding it: git was let finish,
                # so undo its work here rather than leave a worktree and branch nobody owns.
                self._undo_add(path, branch)
                raise
        return path

    def _undo_add(self, path: Path, branch: str | None) -> None:
        if path.exists() or path.is_symlink():
            self.remove_worktree(path, base=path.parent)
        if branch and self.branch_exists(branch):
            self._run("branch", "-D", "--quiet", branch)

    def remove_worktree(self, path: Path, *, base: Path | None = None) -> None:
        """Remove one of ratchet's worktrees directly under ``base`` (default
        ``.ratchet/worktrees``; force: its changes are discarded), then prune (unless git
        removed it, records and all)."""
        with WORKTREES:
            if not self._remove_worktree(path, base or self.worktrees_dir):
                self.prune_worktrees()

    def _remove_worktree(self, path: Path, base: Path) -> bool:
        """Remove ``path``; True when ``git worktree remove`` did it (nothing left to prune)."""
        path = self._own_worktree(path, "worktree remove", base)
        removed = False
        if path.exists() and self._registered(path):
            # git refuses when the worktree's .git file was tampered with; it is ours: delete it.
            removed = self._call("worktree", "remove", "--force", "--force", str(path)).ok
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # a leftover directory git no longer knows (symlinks not followed)
        elif path.exists() or path.is_symlink():
            path.unlink()
        return removed and not self._registered(path)

    def _registered(self, path: Path) -> bool:
        """True when git's records (``.git/worktrees/*/gitdir``, what ``git worktree list``
        reads) name ``path`` as a linked worktree; no git process."""
        try:
            self.worktree_git_dir(path)
        except RefusedOperation:
            return False
        return True

    def prune_stale(
        self, in_use: Collection[Path] = (), *, listed: Iterable[WorktreeInfo] | None = None
    ) -> list[str]:
        """Remove every worktree (and stray directory) under ``.ratchet/worktrees`` except those
        in ``in_use``, whether or not its directory still exists. Returns the removed paths.

        The caller decides what is in use (call it under the daemon lock); branches stay.
        ``listed``: ``linked_worktrees()`` as the caller just read it under that lock.
        """
        keep = {Path(p).resolve() for p in in_use}
        base = self.worktrees_dir.resolve()
        worktrees = self.linked_worktrees() if listed is None else listed
        listed_paths = {w.path.resolve() for w in worktrees}
        candidates = {p for p in listed_paths if p.parent == base}
        if base.is_dir():
            candidates |= {child.resolve() for child in base.iterdir()}
        removed = []
        with WORKTREES:
            for path in sorted(candidates - keep):
                self._remove_worktree(path, base)
                removed.append(str(path))
            self.prune_worktrees()
        return removed

    def linked_worktrees(self) -> list[WorktreeInfo]:
        """The repository's worktrees but the main one; no git process when git keeps no
        records of any (no ``.git/worktrees``)."""
        if not self._has_worktree_records():
            return []
        return self.list_worktrees()[1:]  # the main one is listed first

    def prune_worktrees(self) -> None:
        """``git worktree prune``, unless git keeps no worktree records (no
        ``.git/worktrees``), when it has nothing to do."""
        with WORKTREES:
            if self._has_worktree_records():
                self._run("worktree", "prune")

    def _has_worktree_records(self) -> bool:
        return (self.git_common_dir() / "worktrees").is_dir()

    def _own_worktree(self, path: Path, action: str, base: Path | None = None) -> Path:
        """``path`` resolved, if it is directly under ``base`` (default
        ``.ratchet/worktrees``); else refuse."""
        resolved = Path(path).resolve()
        if resolved.parent != (base or self.worktrees_dir).resolve():
            raise RefusedOperation(
                [action, str(path)], f"{path} is not one of ratchet's worktrees; not touching it"
            )
        return resolved

    def log_entries(
        self, rev: str, *, grep: tuple[str, ...] = (), max_count: int = 0
    ) -> list[tuple[str, str, str]]:
        """``(sha, committer date ISO-8601, message)`` of the commits reachable from ``rev``,
        newest first (at most ``max_count`` when > 0); only those whose message contains one
        of ``grep`` (fixed strings) when given. A ``rev`` that does not resolve gives ``[]``."""
        greps = [f"--grep={g}" for g in grep]
        limit = [f"--max-count={max_count}"] if max_count > 0 else []
        out = read_log(
            self,
            rev,
            *("--no-color", "-F", *greps, *limit, "--format=%H%x00%cI%x00%B%x1e"),
            checked_arg(rev),
        )
        if out is None:
            return []
        entries = []
        for record in out.split("\x1e"):
            parts = record.strip("\n").split("\0", 2)
            if len(parts) == 3:
                entries.append((parts[0], parts[1], parts[2]))
        return entries

    def churn(self, rev: str, *, max_count: int = 500) -> dict[str, int]:
        """Path -> how many of the last ``max_count`` commits reachable from ``rev`` changed
        it (renames not followed). One ``git log --name-only``; ``{}`` when ``rev`` does
        not resolve."""
        out = read_log(
            self,
            rev,
            *("--no-color", "--no-renames", "--name-only", "--format=%x1e"),
            f"--max-count={max_count}",
            checked_arg(rev),
        )
        if out is None:
            return {}
        counts: dict[str, int] = {}
        for record in out.split("\x1e"):
            for path in {line for line in record.splitlines() if line.strip()}:
                counts[path] = counts.get(path, 0) + 1
        return counts

    def commit_infos(self, commits: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Commit -> ``(committer date ISO-8601, message)`` for each of ``commits`` (full
        ids) in one git process (``git log --no-walk --stdin``); when git refuses the batch
        (a commit not in the repository), each is read on its own."""
        wanted = list(dict.fromkeys(checked_arg(c) for c in commits if c))
        if not wanted:
            return {}
        result = self._call(
            *("log", "--no-color", "--no-show-signature", "--no-walk=unsorted", "--stdin"),
            "--format=%H%x00%cI%x00%B%x1e",
            input="\n".join(wanted) + "\n",
        )
        if not result.ok:
            return {
                c: (found[0][1], found[0][2])
                for c in wanted
                if (found := self.log_entries(c, max_count=1))
            }
        out = {}
        for record in result.stdout.split("\x1e"):
            parts = record.strip("\n").split("\0", 2)
            if len(parts) == 3:
                out[parts[0]] = (parts[1], parts[2])
        return out

    def is_clean(self, worktree: Path) -> bool:
        """No staged or unstaged changes to tracked files in ``worktree`` (untracked files and
        anything under ``.ratchet/`` do not count). Never writes the index."""
        from engine.vcs.results import parse_status_paths

        out = self._run(
            "status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=no", cwd=worktree
        )
        return all(p.startswith(f"{STATE_DIR}/") for p in parse_status_paths(out))

    # ------------------------------------------------------------------ commits

    def commit_all(
        self, worktree: Path, *, message: str, author: Identity, allow_empty: bool = False
    ) -> str:
        """Stage everything in one of ratchet's worktrees and commit it as ``author`` (author
        and committer), hooks off, unsigned. Returns the new SHA. GitError when there is
        nothing to commit, unless ``allow_empty``."""
        return self._commit(worktree, message, author, ["--allow-empty"] if allow_empty else [])

    def amend_all(self, worktree: Path, *, message: str, author: Identity) -> str:
        """``commit_all`` replacing the worktree's last commit (author reset to ``author``)."""
        return self._commit(worktree, message, author, ["--amend", "--reset-author"])

    def _commit(self, worktree: Path, message: str, author: Identity, extra: list[str]) -> str:
        wt = self._own_worktree(worktree, "commit")
        self._run("add", "-A", cwd=wt)
        config, env = _identity_args(author)
        self._run(
            *config,
            *("commit", "--quiet", "--no-verify", "--cleanup=whitespace", "-F", "-", *extra),
            cwd=wt,
            input=message,
            env=env,
        )
        return self._run("rev-parse", "HEAD", cwd=wt).strip()

    def rebase(self, worktree: Path, onto: str, *, author: Identity | None = None) -> bool:
        """Rebase the branch of one of ratchet's worktrees onto ``onto`` (``author`` commits,
        hooks off). On conflict the rebase is aborted, the worktree is as before, and the
        result is False. Commits that become empty are dropped (git's default)."""
        wt = self._own_worktree(worktree, "rebase")
        config, env = _identity_args(author or Identity())
        args = ["rebase", "--quiet", "--no-autostash", "--no-update-refs", "--no-verify"]
        result = self._call(*config, *args, checked_arg(onto), cwd=wt, env=env)
        if result.ok:
            return True
        gitdir = self.worktree_git_dir(wt)
        if (gitdir / "rebase-merge").exists() or (gitdir / "rebase-apply").exists():
            self._run("rebase", "--abort", cwd=wt)
            return False
        raise GitError([*args, onto], result.returncode, result.stderr)

    # ------------------------------------------------------------------ moving target branches

    def fast_forward(self, branch: str, new: str, old: str) -> FFResult:
        """Move ``branch`` from ``old`` to its descendant ``new`` — the only write ratchet makes
        to branches it does not own.

        Not checked out anywhere: a compare-and-swap of the ref. Checked out: only if that
        worktree is clean, on the branch, and at ``old``, by ``git merge --ff-only`` there
        (working tree and index follow, as with ``git pull --ff-only``); if git refuses, e.g. an
        untracked file is in the way, the result is ``dirty`` and nothing changed.
        Serialised within the process (concurrent cycles), compare-and-swap across them.
        """
        with _moving:
            return self._fast_forward(branch, new, old)

    def _fast_forward(self, branch: str, new: str, old: str) -> FFResult:
        from engine.vcs.results import FFResult

        result = FFResult("not-ff", branch, old, new)
        ref = f"refs/heads/{checked_arg(branch)}"
        if old != new and not self.is_ancestor(old, new):
            return result
        where = self.checked_out_at(branch)
        if where is None:
            moved = self.update_ref_cas(ref, new, old)
            return FFResult("updated-ref" if moved else "moved", branch, old, new)
        if self._ref_value(ref) != old:
            return FFResult("moved", branch, old, new, where)
        if not where.is_dir():
            return FFResult("dirty", branch, old, new, where, "worktree directory is missing")
        head = self._call("symbolic-ref", "-q", "HEAD", cwd=where).stdout.strip()
        if head != ref:
            return FFResult("dirty", branch, old, new, where, "a rebase or bisect is in progress")
        if not self.is_clean(where):
            return FFResult("dirty", branch, old, new, where, "the worktree has local changes")
        merged = self._call("merge", "--ff-only", "--quiet", "--no-stat", new, cwd=where)
        if not merged.ok:
            return FFResult("dirty", branch, old, new, where, merged.stderr.strip())
        return FFResult("fast-forwarded", branch, old, new, where)

    def revert(
        self,
        commit: str,
        branch: str,
        *,
        author: Identity | None = None,
        message: str | None = None,
        keep: tuple[str, ...] = (),
        prepare: Callable[[Path], None] | None = None,
    ) -> RevertResult:
        """Undo ``commit`` with a new commit on top of ``branch``, made in a temporary worktree
        and then applied with ``fast_forward`` (so a checked-out branch with local changes is
        left alone: ``result.applied`` is False and ``result.ff.kind`` says why).

        ``keep``: paths the revert must not remove or change (ratchet's records of the
        reverted change stay in the tree); ``prepare(worktree)`` may add files (the revert's
        own record) before the commit. Raises InputError when ``commit`` is not on
        ``branch``, RevertConflict (git's output kept, nothing changed) when it does not
        revert cleanly.
        """
        old = self.rev_parse(f"refs/heads/{checked_arg(branch)}")
        target = self.rev_parse(commit)
        if old is None or target is None:
            raise InputError(f"cannot revert {commit} on {branch}: no such commit or branch")
        if not self.is_ancestor(target, old):
            raise InputError(f"{commit} is not on branch {branch}; nothing to revert there")
        subject = self.commit_message(target).partition("\n")[0]
        text = message or f'Revert "{subject}"\n\nThis reverts commit {target}.\n'
        parents = self._run("rev-list", "--parents", "-n", "1", target).split()[1:]
        mainline = ["-m", "1"] if len(parents) > 1 else []
        import secrets  # here: its hmac/hashlib/random cost ~5 ms on every `ratchet status`

        name = f"revert-{target[:12]}-{secrets.token_hex(4)}"
        wt = self.add_worktree(name, commit=old, branch=None)
        try:
            reverted = self._call("revert", "--no-commit", *mainline, target, cwd=wt)
            if not reverted.ok:
                conflicts = re.findall(r"(?m)^CONFLICT \([^)]*\): .*? in (.+)$", reverted.stdout)
                raise RevertConflict(target, tuple(conflicts), reverted.stdout + reverted.stderr)
            present = [p for p in keep if self.show_file(old, p) is not None]
            if present:
                self._run("checkout", old, "--", *present, cwd=wt)
            if prepare is not None:
                prepare(wt)
            sha = self.commit_all(wt, message=text, author=author or Identity())
        finally:
            self.remove_worktree(wt)
        from engine.vcs.results import RevertResult

        return RevertResult(sha, self.fast_forward(branch, sha, old))
