"""Reading a branch's recent history: commit ids with their messages (for trailers)."""

from __future__ import annotations

from engine.vcs.core import RepositoryCore, checked_arg


def first_parent_messages(repo: RepositoryCore, rev: str, limit: int) -> list[tuple[str, str]]:
    """``(sha, full message)`` of the newest ``limit`` commits on ``rev``'s first-parent
    line, newest first ([] when ``rev`` names no commit). Read trailers with
    ``messages.parse_trailers``."""
    if repo.rev_parse(rev) is None:
        return []
    out = repo._run(
        "log",
        "--first-parent",
        f"--max-count={int(limit)}",
        "--format=%H%x00%B%x00",
        checked_arg(rev),
        "--",
    )
    fields = out.split("\0")
    return [
        (fields[i].strip(), fields[i + 1])
        for i in range(0, len(fields) - 1, 2)
        if fields[i].strip()
    ]
