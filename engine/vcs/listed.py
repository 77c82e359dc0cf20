"""``ListedRefs``: a :class:`Repository` whose branch and refs are listed once, for a
one-shot read-only command.

``ratchet status`` asks for the current branch, HEAD, the target branch's tip and three
ref namespaces; each is a git process (~5 ms). Here one ``git for-each-ref`` of
``refs/heads/``, ``refs/ratchet/`` and ``refs/remotes/`` (run on first use) answers them:

- :meth:`list_refs` for prefixes inside those namespaces (a filter of the listing, in git's
  order; any other prefix asks git);
- :meth:`current_branch` when the listing marks the branch HEAD is on and git shortens its
  name to the plain branch name (an ambiguous name, a detached or unborn HEAD ask git,
  which gives its own answer);
- :meth:`rev_parse` of ``HEAD`` and of a listed ``refs/heads/<name>`` (git keeps branches
  on commits, so the listed object is the commit); anything else asks git;
- :meth:`refs_may_exist` is False for a listed namespace with no ref under the prefix.

The answers are those of the moment of the listing: never use it where refs move while it
lives (the daemon, a cycle). It only reads.
"""

from __future__ import annotations

from pathlib import Path

from engine.vcs.git import Git
from engine.vcs.refs import ARCHIVE_REFS
from engine.vcs.repository import Repository

_LISTED = ("refs/heads/", ARCHIVE_REFS, "refs/remotes/")
_HEADS = "refs/heads/"
# sha NUL (short name of HEAD's branch, on its line only) NUL full ref name
_FORMAT = "--format=%(objectname)%00%(if)%(HEAD)%(then)%(refname:short)%(end)%00%(refname)"


class ListedRefs(Repository):
    """A read-only view of the repository at ``root`` whose refs are listed once (see the
    module doc). The constructor does no I/O."""

    def __init__(self, root: Path, *, git: Git | None = None) -> None:
        super().__init__(root, git=git)
        self._refs: dict[str, str] | None = None
        self._head: tuple[str, str] | None = None  # (full ref, short name) HEAD is on

    def _listing(self) -> dict[str, str]:
        if self._refs is None:
            refs: dict[str, str] = {}
            for line in self._run("for-each-ref", _FORMAT, *_LISTED).splitlines():
                sha, short, ref = line.split("\0", 2)
                refs[ref] = sha
                if short:
                    self._head = (ref, short)
            self._refs = refs
        return self._refs

    def list_refs(self, *prefixes: str) -> dict[str, str]:
        if not prefixes or not all(_covered(p) for p in prefixes):
            return super().list_refs(*prefixes)
        return {ref: sha for ref, sha in self._listing().items() if ref.startswith(prefixes)}

    def refs_may_exist(self, prefix: str) -> bool:
        if not _covered(prefix):
            return super().refs_may_exist(prefix)
        return any(ref.startswith(prefix) for ref in self._listing())

    def current_branch(self) -> str | None:
        self._listing()
        if self._head is not None:
            ref, short = self._head
            if ref.startswith(_HEADS) and short == ref[len(_HEADS) :]:
                return short
        return super().current_branch()

    def rev_parse(self, ref: str, *, cwd: Path | None = None) -> str | None:
        if cwd is None:
            refs = self._listing()
            if ref == "HEAD" and self._head is not None and self._head[0].startswith(_HEADS):
                return refs[self._head[0]]
            if ref.startswith(_HEADS) and ref in refs:
                return refs[ref]
        return super().rev_parse(ref, cwd=cwd)


def _covered(prefix: str) -> bool:
    """``prefix`` selects the same refs by ``startswith`` as by for-each-ref's pattern, and
    lies inside the listed namespaces."""
    plain = prefix.endswith("/") and not any(c in prefix for c in "*?[\\")
    return plain and prefix.startswith(_LISTED)
