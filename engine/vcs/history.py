"""Reading commits with their messages (for trailers) in one git process: a branch's
recent history, or the tips of a ref namespace."""

from __future__ import annotations

from engine.errors import GitError
from engine.vcs.core import RepositoryCore, checked_arg


def first_parent_messages(repo: RepositoryCore, rev: str, limit: int) -> list[tuple[str, str]]:
    """``(sha, full message)`` of the newest ``limit`` commits on ``rev``'s first-parent
    line, newest first ([] when ``rev`` names no commit). Read trailers with
    ``messages.parse_trailers``."""
    limited = f"--max-count={int(limit)}"
    out = read_log(
        repo, rev, "--first-parent", limited, "--format=%H%x00%B%x00", checked_arg(rev), "--"
    )
    if out is None:
        return []
    fields = out.split("\0")
    return [
        (fields[i].strip(), fields[i + 1])
        for i in range(0, len(fields) - 1, 2)
        if fields[i].strip()
    ]


def read_log(repo: RepositoryCore, rev: str, *args: str) -> str | None:
    """The output of ``git log *args`` (``args`` name ``rev``); None when ``rev`` names no
    commit. Whether it does is asked only when the log fails (one git process in the usual
    case); any other failure raises GitError."""
    result = repo._call("log", *args)
    if result.ok:
        return result.stdout
    if repo.rev_parse(rev) is None:
        return None
    raise GitError(["log", *args], result.returncode, result.stderr or result.stdout)


def ref_messages(repo: RepositoryCore, prefix: str) -> dict[str, tuple[str, str]]:
    """Full ref name -> ``(sha, full message)`` for the commits under ``prefix`` (e.g.
    ``refs/ratchet/rejected/``), in one git process instead of one per ref (none when the
    repository knows there is no such ref)."""
    if not repo.refs_may_exist(prefix):
        return {}
    out = repo._run(
        "for-each-ref", "--format=%(objectname) %(refname)%00%(contents)%00", checked_arg(prefix)
    )
    fields = out.split("\0")
    found: dict[str, tuple[str, str]] = {}
    for head, message in zip(fields[0::2], fields[1::2], strict=False):
        sha, _, ref = head.strip().partition(" ")
        if ref:
            found[ref] = (sha, message)
    return found
