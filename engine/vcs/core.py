"""``RepositoryCore``: running git for one repository, reading it, and its refs.

Reads never write the index (``GIT_OPTIONAL_LOCKS=0``). Ref writes are compare-and-swaps,
confined to ratchet's own refs except for ``update_ref_cas`` of a branch that no worktree has
checked out (``Repository.fast_forward`` is the caller that moves a user's branch).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Self

from engine.errors import GitError
from engine.model import Identity
from engine.records.layout import EXCLUDE_FORMS, EXCLUDE_LINE, STATE_DIR, worktrees_dir
from engine.vcs.git import Git, GitResult, RefusedOperation, UnusableRepository
from engine.vcs.refs import ARCHIVE_REFS, BRANCH_PREFIX, BRANCH_REFS, ZERO_SHA

if TYPE_CHECKING:  # engine.vcs.results is imported where a result is made (see vcs/__init__)
    from engine.vcs.results import FileChange, WorktreeInfo

# git's worktree commands are not safe to run at once in one repository: an add reads every
# other worktree's records, and one being added has them half-written ("failed to read
# .git/worktrees/g4-1/commondir", two workers of `run-once --workers 2` adding theirs).
# Every worktree command of this process runs under this lock (re-entrant: a failed add
# removes what it made); other processes are kept out by the cycle lock.
WORKTREES = threading.RLock()

_QUICK_OPEN = "rev-parse --is-bare-repository --show-toplevel --verify -q HEAD^{commit}"


def checked_arg(value: str) -> str:
    """Refuse a revision or ref that git would read as an option."""
    if not value or value.startswith("-"):
        raise RefusedOperation([value], f"{value!r} is not a revision or ref name")
    return value


class RepositoryCore:
    """A git repository with a working tree, addressed by its top-level directory.

    The constructor does no I/O and trusts ``root``; use ``Repository.open`` to resolve and
    check a user-given path. Errors from git raise ``GitError`` (command + stderr); refusals of
    unsafe calls raise ``RefusedOperation``.
    """

    def __init__(self, root: Path, *, git: Git | None = None) -> None:
        self.root = Path(root)
        self._git = git or Git()
        self._common_dir: Path | None = None  # looked up on first use

    # ------------------------------------------------------------------ opening and reading

    @classmethod
    def open(cls, path: Path | str, *, git: Git | None = None) -> Self:
        """The repository containing ``path`` (any directory inside its working tree).

        Raises ``UnusableRepository`` (a GitError and an InputError) when the path is not in a
        git working tree, the repository is bare, or it has no commits yet.
        """
        git = git or Git()
        path = Path(path).expanduser()
        probe = ["rev-parse", "--show-toplevel"]
        if not path.is_dir():
            raise UnusableRepository(probe, f"{path} is not a directory; pass --repo PATH")
        quick = git.call(*_QUICK_OPEN.split(), cwd=path)  # the usual case in 1 process, not 3
        if quick.ok and quick.stdout.startswith("false\n") and quick.stdout.count("\n") == 3:
            return cls(Path(quick.stdout.splitlines()[1]), git=git)
        bare = git.call("rev-parse", "--is-bare-repository", cwd=path)
        if not bare.ok and "dubious ownership" in bare.stderr:
            raise UnusableRepository(
                probe,
                f"git refuses {path}: the repository belongs to another user (git's 'dubious "
                "ownership' check); run ratchet as its owner, or, if you trust it, mark it "
                f"safe: git config --global --add safe.directory {path.resolve()}",
            )
        if not bare.ok:
            why = bare.stderr.strip().splitlines()[-1:] or ["not a git repository"]
            raise UnusableRepository(
                probe,
                f"{path} is not inside a git repository ({why[0]}); "
                "run `git init` there or pass --repo PATH",
            )
        if bare.stdout.strip() == "true":
            raise UnusableRepository(
                probe, f"{path} is a bare repository; ratchet needs one with a working tree"
            )
        top = git.call(*probe, cwd=path)
        if not top.ok:
            raise UnusableRepository(
                probe, f"{path} is inside a .git directory, not a working tree; pass --repo PATH"
            )
        root = Path(top.stdout.rstrip("\n"))
        if not git.call("rev-parse", "--verify", "-q", "HEAD^{commit}", cwd=root).ok:
            raise UnusableRepository(
                probe, f"{root} has no commits yet; make a first commit, then run ratchet again"
            )
        return cls(root, git=git)

    @property
    def state_dir(self) -> Path:
        """``<toplevel>/.ratchet``: worktrees and daemon state live here."""
        return self.root / STATE_DIR

    @property
    def worktrees_dir(self) -> Path:
        return worktrees_dir(self.state_dir)

    def _call(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> GitResult:
        where = cwd or self.root
        isolated = self._isolate(where)
        return self._git.call(*isolated, *args, cwd=where, input=input, env=env)

    def _isolate(self, cwd: Path) -> tuple[str, ...]:
        """Explicit ``--git-dir``/``--work-tree`` when ``cwd`` is inside one of ratchet's
        worktrees. Candidate code has run in there and may have replaced the worktree's ``.git``
        file with one naming a repository whose config runs commands (``core.fsmonitor``,
        filters, hooks): git must never discover its repository from inside a candidate."""
        base = self.worktrees_dir.resolve()
        resolved = Path(cwd).resolve()
        if resolved == base or base not in resolved.parents:
            return ()
        worktree = base / resolved.relative_to(base).parts[0]
        return ("--git-dir", str(self.worktree_git_dir(worktree)), "--work-tree", str(worktree))

    def worktree_git_dir(self, worktree: Path) -> Path:
        """The administrative directory (``.git/worktrees/<id>``) of a linked worktree, found
        from git's own records (``.git/worktrees/*/gitdir``), never from the worktree's ``.git``
        file. Raises RefusedOperation when ``worktree`` is not a registered linked worktree."""
        if self._common_dir is None:
            self._common_dir = self.git_common_dir()
        target = Path(worktree).resolve()
        admin_root = self._common_dir / "worktrees"
        for admin in sorted(admin_root.iterdir()) if admin_root.is_dir() else ():
            record = admin / "gitdir"
            if record.is_file():
                recorded = Path(record.read_text(encoding="utf-8", errors="replace").strip())
                if recorded.parent.resolve() == target:
                    return admin
        raise RefusedOperation(
            ["rev-parse", "--git-dir"], f"{worktree} is not a registered worktree of {self.root}"
        )

    def _run(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        result = self._call(*args, cwd=cwd, input=input, env=env)
        if not result.ok:
            # Some refusals ("nothing to commit") are printed on stdout.
            raise GitError(list(args), result.returncode, result.stderr or result.stdout)
        return result.stdout

    def current_branch(self) -> str | None:
        """The branch checked out in the main working tree; None when HEAD is detached."""
        result = self._call("symbolic-ref", "-q", "--short", "HEAD")
        return result.stdout.strip() if result.ok else None

    def rev_parse(self, ref: str, *, cwd: Path | None = None) -> str | None:
        """The commit SHA ``ref`` names (tags peeled); None when it names no commit.

        ``cwd`` reads it from another worktree (``HEAD`` there is that worktree's)."""
        arg = f"{checked_arg(ref)}^{{commit}}"
        result = self._call("rev-parse", "--verify", "-q", arg, cwd=cwd)
        return result.stdout.strip() if result.ok else None

    def head_of(self, worktree: Path) -> str | None:
        """The commit checked out in ``worktree``; None when it has none."""
        return self.rev_parse("HEAD", cwd=worktree)

    def _ref_value(self, ref: str) -> str | None:
        """The object a full ref name points at, unpeeled; None when the ref does not exist."""
        result = self._call("rev-parse", "--verify", "-q", checked_arg(ref))
        return result.stdout.strip() if result.ok else None

    def branch_exists(self, name: str) -> bool:
        return self._call("show-ref", "--verify", "-q", f"refs/heads/{checked_arg(name)}").ok

    def list_refs(self, *prefixes: str) -> dict[str, str]:
        """Full ref name -> SHA for the refs under any of ``prefixes`` (``refs/ratchet/``...),
        sorted by name; one git process for them all."""
        patterns = [checked_arg(prefix) for prefix in prefixes]
        out = self._run("for-each-ref", "--format=%(objectname) %(refname)", *patterns)
        return {ref: sha for sha, _, ref in (line.partition(" ") for line in out.splitlines())}

    def refs_may_exist(self, prefix: str) -> bool:
        """False only when it is known without running git that no ref starts with
        ``prefix`` (a repository that listed its refs: ``vcs.listed``); here always True."""
        return True

    def git_common_dir(self) -> Path:
        """The repository's shared .git directory (the same from every worktree)."""
        out = self._run("rev-parse", "--path-format=absolute", "--git-common-dir")
        return Path(out.rstrip("\n"))

    def info_exclude_path(self) -> Path:
        return self.git_common_dir() / "info" / "exclude"

    def ensure_excluded(self) -> bool:
        """Add ``/.ratchet/`` to ``.git/info/exclude`` unless present, so the user's ``git
        status`` and ``git add -A`` never see ratchet's worktrees. True when the file changed."""
        path = self.info_exclude_path()
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        if any(line.strip() in EXCLUDE_FORMS for line in text.splitlines()):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        sep = "" if not text or text.endswith("\n") else "\n"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"{sep}# ratchet's worktrees and state\n{EXCLUDE_LINE}\n")
        return True

    def ls_files(self, commit: str, *, under: str = "") -> list[str]:
        """Paths of all files tracked at ``commit`` (only those in folder ``under`` when
        given)."""
        where = ["--", f"{under.rstrip('/')}/"] if under else []
        out = self._run(
            "ls-tree", "-r", "-z", "--name-only", "--full-tree", checked_arg(commit), *where
        )
        return [p for p in out.split("\0") if p]

    def ignored(self, paths: Iterable[str]) -> set[str]:
        """Which of ``paths`` (relative to the working tree) git ignores there (untracked
        files matched by ``.gitignore``, ``info/exclude`` or the global excludes)."""
        listed = [p for p in paths if p]
        if not listed:
            return set()
        result = self._call("check-ignore", "-z", "--stdin", input="\0".join(listed) + "\0")
        return {p for p in result.stdout.split("\0") if p} if result.returncode == 0 else set()

    def show_file(self, commit: str, path: str) -> str | None:
        """The text of ``path`` at ``commit``; None when it does not exist there."""
        result = self._call("cat-file", "blob", f"{checked_arg(commit)}:{path}")
        return result.stdout if result.ok else None

    def commit_message(self, commit: str) -> str:
        """The full message of ``commit`` (parse trailers with ``messages.parse_trailers``)."""
        raw = self._run("cat-file", "commit", checked_arg(commit))
        return raw.partition("\n\n")[2]

    def commit_people(self, commit: str) -> tuple[str, str]:
        """``(author, committer)`` of ``commit``, each as ``Name <email>``."""
        raw = self._run("cat-file", "commit", checked_arg(commit))
        people = dict.fromkeys(("author", "committer"), "")
        for line in raw.partition("\n\n")[0].splitlines():
            role, _, rest = line.partition(" ")
            if role in people:
                people[role] = rest[: rest.rfind(">") + 1]
        return people["author"], people["committer"]

    def is_bot_commit(self, commit: str, identity: Identity) -> bool:
        """True when ``identity`` is both author and committer of ``commit``."""
        bot = f"{identity.name} <{identity.email}>"
        return self.commit_people(commit) == (bot, bot)

    def diff(self, base: str, head: str) -> str:
        """Unified diff from ``base`` to ``head`` with renames, independent of diff config."""
        return self._run(
            *("diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M"),
            *("--src-prefix=a/", "--dst-prefix=b/", checked_arg(base), checked_arg(head), "--"),
        )

    def changed_files(self, base: str, head: str) -> list[FileChange]:
        """Files changed from ``base`` to ``head``, renames detected."""
        args = ("diff", "--name-status", "-z", "-M", "--no-ext-diff")
        from engine.vcs.results import parse_name_status

        return parse_name_status(self._run(*args, checked_arg(base), checked_arg(head), "--"))

    def is_ancestor(self, a: str, b: str) -> bool:
        """True when commit ``a`` is ``b`` or one of its ancestors."""
        result = self._call("merge-base", "--is-ancestor", checked_arg(a), checked_arg(b))
        if result.returncode in (0, 1):
            return result.ok
        raise GitError(list(result.args), result.returncode, result.stderr)

    def merge_base(self, a: str, b: str) -> str | None:
        result = self._call("merge-base", checked_arg(a), checked_arg(b))
        return result.stdout.strip() if result.ok else None

    def fsck(self, *, full: bool = False) -> bool:
        """True when the object store is sound (connectivity only, unless ``full``)."""
        args = ["fsck", "--no-progress", "--no-dangling"]
        return self._call(*args, *([] if full else ["--connectivity-only"])).ok

    # ------------------------------------------------------------------ refs

    def update_ref_cas(self, ref: str, new: str, old: str) -> bool:
        """Atomically set full ref ``ref`` to ``new`` if it is at ``old`` (``ZERO_SHA``: if it
        does not exist). False, with nothing changed, when it was elsewhere.

        Refuses a branch that is checked out in any worktree (moving it would make that
        worktree's index look changed; use ``fast_forward``), and moving a branch outside
        ``ratchet/`` anywhere but forward.
        """
        if not checked_arg(ref).startswith("refs/"):
            raise RefusedOperation(["update-ref", ref], f"{ref!r} is not a full ref name")
        if ref.startswith("refs/heads/"):
            self._refuse_if_checked_out(ref.removeprefix("refs/heads/"), "update-ref")
            ours = ref.startswith(BRANCH_REFS)
            if not ours and old != ZERO_SHA and not self.is_ancestor(old, new):
                raise RefusedOperation(
                    ["update-ref", ref, new, old], f"{new} does not descend from {old}"
                )
        result = self._call("update-ref", "-m", "ratchet: compare-and-swap", ref, new, old)
        if result.ok:
            return True
        if (self._ref_value(ref) or ZERO_SHA) != old:
            return False
        raise GitError(["update-ref", ref, new, old], result.returncode, result.stderr)

    def delete_ref(self, ref: str, old: str | None = None) -> bool:
        """Delete one of ratchet's refs (``refs/ratchet/...`` or ``refs/heads/ratchet/...``),
        only if it is at ``old`` when given. False when it was elsewhere."""
        if not checked_arg(ref).startswith((ARCHIVE_REFS, BRANCH_REFS)):
            raise RefusedOperation(["update-ref", "-d", ref], f"{ref} is not one of ratchet's refs")
        if ref.startswith("refs/heads/"):
            self._refuse_if_checked_out(ref.removeprefix("refs/heads/"), "update-ref -d")
        result = self._call("update-ref", "-d", ref, *([old] if old else []))
        if result.ok:
            return True
        if old is not None and self._ref_value(ref) != old:
            return False
        raise GitError(["update-ref", "-d", ref], result.returncode, result.stderr)

    def archive(self, ref_name: str, sha: str) -> str:
        """Keep ``sha`` reachable under ``ref_name`` (``refs/ratchet/...``, e.g. ``rejected_ref``).

        Idempotent for the same SHA; raises GitError if the ref already holds another commit.
        """
        if not checked_arg(ref_name).startswith(ARCHIVE_REFS):
            raise RefusedOperation(["update-ref", ref_name], f"archives live under {ARCHIVE_REFS}")
        if not self.update_ref_cas(ref_name, sha, ZERO_SHA):
            current = self._ref_value(ref_name)
            if current != sha:
                raise GitError(
                    ["update-ref", ref_name, sha, ZERO_SHA],
                    1,
                    f"{ref_name} already archives {current}; pick the next number",
                )
        return ref_name

    def delete_branch(self, name: str) -> bool:
        """Force-delete branch ``ratchet/...``; False when it did not exist. Refuses any other
        branch, and a branch checked out in a worktree that is not ratchet's (one of ratchet's
        worktrees that has it checked out is detached first, its files untouched)."""
        if not checked_arg(name).startswith(BRANCH_PREFIX):
            raise RefusedOperation(["branch", "-D", name], "only ratchet/* branches")
        if not self.branch_exists(name):
            return False
        where = self.checked_out_at(name)
        if where is not None and where.parent.resolve() == self.worktrees_dir.resolve():
            # Our own worktree: detach its HEAD in place (files and index stay as they are).
            head = self._run("rev-parse", "HEAD", cwd=where).strip()
            self._run("update-ref", "--no-deref", "-m", "ratchet: detach", "HEAD", head, cwd=where)
        else:
            self._refuse_if_checked_out(name, "branch -D")
        self._run("branch", "-D", "--quiet", name)
        return True

    def next_branch_number(self, goal_id: str) -> int:
        """1 + the highest ``n`` used by ``refs/heads/ratchet/<goal>/<n>`` or
        ``refs/ratchet/<kind>/<goal>/<n>`` (1 when none), so numbers are never reused."""
        prefixes = f"(?:{re.escape(BRANCH_REFS)}|{re.escape(ARCHIVE_REFS)}[^/]+/)"
        pattern = re.compile(rf"^{prefixes}{re.escape(goal_id)}/(\d+)$")
        refs = (BRANCH_REFS, ARCHIVE_REFS)
        out = self._run("for-each-ref", "--format=%(refname)", *refs)
        numbers = [int(m.group(1)) for m in map(pattern.match, out.splitlines()) if m]
        return max(numbers, default=0) + 1

    # ------------------------------------------------------------------ worktrees

    def list_worktrees(self) -> list[WorktreeInfo]:
        """All worktrees of the repository, the main one first."""
        from engine.vcs.results import parse_worktree_list

        with WORKTREES:
            listed = self._run("worktree", "list", "--porcelain", "-z")
        return parse_worktree_list(listed)

    def checked_out_at(self, branch: str) -> Path | None:
        """The worktree (main or linked) that has ``branch`` checked out, or is rebasing or
        bisecting it; None when no worktree uses it."""
        for wt in self.list_worktrees():
            if wt.branch == branch:
                return wt.path
            if wt.detached and wt.path.is_dir() and self._busy_with(wt.path) == branch:
                return wt.path
        return None

    def _busy_with(self, worktree: Path) -> str | None:
        """The branch a rebase or bisect in ``worktree`` will return to, if one is running."""
        try:
            gitdir = self._git_dir_of(worktree)
        except GitError:
            return None
        for state in ("rebase-merge/head-name", "rebase-apply/head-name", "BISECT_START"):
            if (gitdir / state).is_file():
                name = (gitdir / state).read_text(encoding="utf-8", errors="replace").strip()
                return name.removeprefix("refs/heads/")
        return None

    def _git_dir_of(self, worktree: Path) -> Path:
        """The git directory of any worktree (ratchet's found from git's records)."""
        if self._isolate(worktree):
            return self.worktree_git_dir(worktree)
        out = self._run("rev-parse", "--absolute-git-dir", cwd=worktree)
        return Path(out.rstrip("\n"))

    def _refuse_if_checked_out(self, branch: str, action: str) -> None:
        where = self.checked_out_at(branch)
        if where is not None:
            raise RefusedOperation(
                [action, branch], f"branch {branch} is checked out at {where}; not moving it"
            )
