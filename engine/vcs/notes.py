"""Git notes on ratchet's notes ref: write one commit's note by compare-and-swap, read it.

A note is a blob named by the annotated commit's sha in the tree of the notes ref's tip
commit (``refs/notes/ratchet``, :data:`engine.vcs.refs.NOTES_REF`). :func:`write_note`
builds the new notes commit with plumbing — in a private index file under ``.ratchet/``,
never the user's index, working tree or HEAD — and moves the ref with ``update-ref NEW
OLD``, so two writers never lose each other's notes (the loser retries on the new tip) and a
kill at any point leaves either the old or the new notes commit, nothing half-made. Notes
written by ``git notes`` itself (fanout directories ``ab/cdef…``) are read and replaced
correctly. :func:`read_notes` reads the notes of many commits in one git process.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.errors import GitError
from engine.model import Identity
from engine.records.layout import NOTES_INDEX_PREFIX, notes_index_file
from engine.vcs.blobs import ls_tree
from engine.vcs.core import RepositoryCore, checked_arg
from engine.vcs.refs import NOTES_REF
from engine.vcs.results import ZERO_SHA

_ATTEMPTS = 5


def read_note(repo: RepositoryCore, commit: str, *, ref: str = NOTES_REF) -> str | None:
    """The note of ``commit`` under ``ref``; None when there is none (or no notes ref)."""
    result = repo._call("notes", f"--ref={checked_arg(ref)}", "show", checked_arg(commit))
    return result.stdout if result.ok else None


def read_notes(
    repo: RepositoryCore, commits: Iterable[str], *, ref: str = NOTES_REF
) -> dict[str, str]:
    """Commit -> its note under ``ref``, for those of ``commits`` (full ids) that have one,
    in one git process (``git log --no-walk --stdin`` printing ``%N``; a note's text ends
    with a newline). When git refuses the batch (a commit that is not in the repository),
    each commit is read on its own with :func:`read_note`."""
    wanted = list(dict.fromkeys(checked_arg(c) for c in commits if c))
    if not wanted:
        return {}
    result = repo._call(
        "log",
        "--no-color",
        "--no-show-signature",  # a user's log.showSignature would print into the output
        "--no-walk=unsorted",
        "--stdin",
        "--no-notes",
        f"--notes={checked_arg(ref)}",
        "--format=%H%x00%N%x00",
        input="\n".join(wanted) + "\n",
    )
    if not result.ok:
        return {c: text for c in wanted if (text := read_note(repo, c, ref=ref)) is not None}
    asked = set(wanted)
    out: dict[str, str] = {}
    for record in result.stdout.split("\0\n"):  # "<sha>\0<note>\0\n" per commit
        sha, _, text = record.partition("\0")
        if sha in asked and text:
            out[sha] = text
    return out


def noted_commits(repo: RepositoryCore, *, ref: str = NOTES_REF) -> dict[str, str]:
    """Annotated commit -> note blob, for every note under ``ref`` (one git process)."""
    result = repo._call("notes", f"--ref={checked_arg(ref)}", "list")
    if not result.ok:
        return {}
    pairs = (line.split() for line in result.stdout.splitlines())
    return {p[1]: p[0] for p in pairs if len(p) == 2}


def write_note(
    repo: RepositoryCore,
    commit: str,
    text: str,
    *,
    author: Identity | None = None,
    ref: str = NOTES_REF,
) -> str:
    """Make ``text`` the note of ``commit`` under ``ref`` (replacing any); returns the new
    notes commit. Raises GitError when the ref kept moving under it."""
    target = repo.rev_parse(commit)
    if target is None:
        raise GitError(["notes", "add", commit], 1, f"{commit} is not a commit")
    who = author or Identity()
    env = {
        "GIT_AUTHOR_NAME": who.name,
        "GIT_AUTHOR_EMAIL": who.email,
        "GIT_COMMITTER_NAME": who.name,
        "GIT_COMMITTER_EMAIL": who.email,
    }
    blob = repo._run("hash-object", "-w", "--stdin", input=text).strip()
    for _ in range(_ATTEMPTS):
        old = repo._call("rev-parse", "--verify", "-q", f"{checked_arg(ref)}^{{commit}}")
        parent = old.stdout.strip() if old.ok else ""
        tree = _tree_with(repo, parent, target, blob, env)
        parents = ["-p", parent] if parent else []
        new = repo._run(
            "commit-tree", tree, *parents, "-m", f"ratchet: evidence of {target[:12]}", env=env
        ).strip()
        if repo.update_ref_cas(ref, new, parent or ZERO_SHA):
            return new
    raise GitError(["update-ref", ref], 1, f"{ref} kept moving; note of {target[:12]} not written")


def remove_stale_indexes(state_dir: Path) -> None:
    """Remove the private index files of note writes a killed run left (nothing reads them;
    call with the cycle lock held, so no note is being written)."""
    for stale in state_dir.glob(f"{NOTES_INDEX_PREFIX}*"):
        stale.unlink(missing_ok=True)


def _tree_with(
    repo: RepositoryCore, parent: str, commit: str, blob: str, env: dict[str, str]
) -> str:
    """The tree of ``parent`` (empty without one) with ``commit``'s note set to ``blob``."""
    state = repo.state_dir
    state.mkdir(parents=True, exist_ok=True)
    import secrets  # here, not at the top: `ratchet status` imports this module

    index = notes_index_file(state, secrets.token_hex(6))
    env = {**env, "GIT_INDEX_FILE": str(index)}
    # parent's files but the old note (under any fanout), and the new note: one update-index
    kept = ls_tree(repo, parent) if parent else []
    entries = [(m, o, p) for m, o, p in kept if p.replace("/", "") != commit]
    entries.append(("100644", blob, commit))
    listing = "".join(f"{mode} {oid}\t{path}\0" for mode, oid, path in entries)
    try:
        repo._run("update-index", "-z", "--index-info", input=listing, env=env)
        return repo._run("write-tree", env=env).strip()
    finally:
        index.unlink(missing_ok=True)
