"""Reading trees and blobs in bulk: many files of many revisions in one git process (the
records readers — ``log``, review, the report — read a snapshot per candidate branch,
which would otherwise be one ``git cat-file`` each), and a commit's whole tree with its
object ids (the content key of a baseline)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.vcs.core import RepositoryCore, checked_arg

_OID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")  # a SHA-1 or SHA-256 object id


def read_blobs(repo: RepositoryCore, specs: Iterable[str]) -> dict[str, str]:
    """``rev:path`` -> the text of that file, for each of ``specs`` that names a file, in
    one git process (``git cat-file --batch``; sizes are bytes, so the output is parsed
    as the UTF-8 it was). A refused batch, or one holding bytes that are not UTF-8, falls
    back to one ``show_file`` each."""
    wanted = list(dict.fromkeys(specs))
    if not wanted:
        return {}
    result = repo._call("cat-file", "--batch", input="\n".join(wanted) + "\n")
    data = result.stdout.encode("utf-8")
    out: dict[str, str] = {}
    pos = 0
    try:
        if not result.ok:
            raise ValueError(result.stderr)
        if "\ufffd" in result.stdout:  # bytes that were not UTF-8: the sizes no longer align
            raise ValueError("not UTF-8")
        for spec in wanted:
            end = data.index(b"\n", pos)
            header = data[pos:end].split(b" ")
            pos = end + 1
            if header[-1] in (b"missing", b"ambiguous") or len(header) != 3:
                continue
            size = int(header[2])
            if not _OID.fullmatch(header[0]) or data[pos + size : pos + size + 1] != b"\n":
                raise ValueError("misaligned")  # content that was not UTF-8
            if header[1] == b"blob":
                out[spec] = data[pos : pos + size].decode("utf-8", errors="replace")
            pos += size + 1  # the content, then a newline
    except ValueError:  # refused, or not parseable (output that was not UTF-8)
        out = {}
        for spec in wanted:
            rev, _, path = spec.partition(":")
            if (text := repo.show_file(rev, path)) is not None:
                out[spec] = text
    return out


def ls_tree(repo: RepositoryCore, commit: str) -> list[tuple[str, str, str]]:
    """``(mode, object id, path)`` of every file tracked at ``commit``, in git's order."""
    out = repo._run("ls-tree", "-r", "-z", "--full-tree", checked_arg(commit))
    entries = []
    for record in out.split("\0"):
        meta, tab, path = record.partition("\t")
        if tab:
            mode, _kind, oid = meta.split(" ")
            entries.append((mode, oid, path))
    return entries
