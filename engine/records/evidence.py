"""The full evidence of a recorded attempt, kept as a git note beside its commit.

The committed snapshot (``snapshots/<cycle-id>.json``) holds the decision, key metrics,
deltas, rule verdicts, timings and the cause: tens of lines in the project's history. The
full record — every metric of both sides (per-file coverage, test output tails, lint codes),
every rule with the values it saw, per-step timings — is the note of the record commit under
``refs/notes/ratchet`` (:data:`engine.vcs.refs.NOTES_REF`), the same JSON the local journal
keeps (:func:`engine.records.render.full_record`). Notes travel only when asked to::

    git push origin refs/notes/ratchet
    git fetch origin refs/notes/ratchet:refs/notes/ratchet

Readers (``ratchet log``, ``review show``, ``report``):

- :func:`evidence_for` — the note of one commit as a dict, or None (a fresh clone that did
  not fetch notes, a commit killed before its note was written, a note that is not JSON);
- :func:`with_evidence` — a snapshot completed from its note: the note's metrics and rule
  values, the snapshot's decision (a human decision recorded later wins);
- :func:`cycle_commits` — cycle id -> record commit on a branch, from the trailers;
- :func:`complete_history` — ``ratchet log``'s entries, the abridged ones (read from
  snapshots in a fresh clone) completed from their notes when the notes are there (all
  notes read in one git process).

Writing (:func:`write_evidence`) is best effort: a note that cannot be written is logged and
the cycle goes on — the snapshot in the tree is the record; the note is its appendix.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import GitError
from engine.model import CycleReport, Identity
from engine.records.render import ABRIDGED, full_record, note_json
from engine.vcs import Repository, parse_trailers
from engine.vcs.history import ref_messages
from engine.vcs.notes import noted_commits, read_note, read_notes, write_note
from engine.vcs.refs import NOTES_REF

__all__ = [
    "NOTES_REF",
    "complete_history",
    "cycle_commits",
    "evidence_for",
    "with_evidence",
    "write_evidence",
]

log = logging.getLogger("ratchet")
_WRITING = threading.Lock()  # workers in one process take turns (across processes: the CAS)


def evidence_for(repo: Repository, commit: str) -> dict[str, Any] | None:
    """The full record attached to ``commit`` (see the module docstring), or None."""
    if not commit:
        return None
    try:
        return _parsed(read_note(repo, commit))
    except GitError:
        return None


def _parsed(text: str | None) -> dict[str, Any] | None:
    """A note's text as a record: None when there is none or it is not a JSON object."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def with_evidence(snapshot: Mapping[str, Any], note: Mapping[str, Any] | None) -> dict[str, Any]:
    """``snapshot`` with its abridged parts (metrics, rules, change) taken from ``note``;
    every other key keeps the snapshot's value. Without a note: the snapshot as it is."""
    if not note:
        return dict(snapshot)
    merged = {**note, **{k: v for k, v in snapshot.items() if k not in ABRIDGED}}
    merged.pop("evidence", None)
    return merged


def write_evidence(
    repo: Repository, commit: str, record: Mapping[str, Any], *, author: Identity | None = None
) -> bool:
    """Attach ``record`` (a full record) to ``commit`` as its note (:func:`engine.records.
    render.note_json`); False, logged, when git failed."""
    try:
        with _WRITING:
            write_note(repo, commit, note_json(record), author=author)
    except GitError as exc:
        log.warning("ratchet: the evidence note of %s was not written: %s", commit[:12], exc)
        return False
    return True


def cycle_commits(repo: Repository, rev: str) -> dict[str, str]:
    """Cycle id -> the newest commit reachable from ``rev`` whose ``Ratchet-Cycle`` trailer
    names it (one git process)."""
    out: dict[str, str] = {}
    for sha, _, message in repo.log_entries(rev, grep=("Ratchet-Cycle:",)):
        cycle = parse_trailers(message).get("Ratchet-Cycle")
        if cycle:
            out.setdefault(cycle, sha)
    return out


def record_commits(repo: Repository) -> dict[str, str]:
    """Cycle id -> record commit for every cycle recorded on HEAD's history or at the tip
    of one of ratchet's refs (branches, archives, a clone's remote-tracking branches)."""
    found = cycle_commits(repo, "HEAD")
    for prefix in ("refs/ratchet/", "refs/heads/ratchet/", "refs/remotes/"):
        for sha, message in ref_messages(repo, prefix).values():
            cycle = parse_trailers(message).get("Ratchet-Cycle")
            if cycle:
                found.setdefault(cycle, sha)
    return found


def complete_history(
    repo: Repository, entries: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``entries`` (cycle dicts, oldest first) with every abridged one — a snapshot read from
    git, marked by its ``evidence`` key — completed from its note where there is one."""
    given = [dict(e) for e in entries]
    if not any(e.get("evidence") for e in given):
        return given
    noted = noted_commits(repo)
    if not noted:
        return given  # a clone that did not fetch the notes: the snapshots are the record
    commits = record_commits(repo)

    def noted_commit(e: Mapping[str, Any]) -> str:
        """The record commit of an abridged entry when it has a note, else ""."""
        sha = str(e.get("commit") or commits.get(str(e.get("cycle_id")), ""))
        return sha if e.get("evidence") and sha in noted else ""

    shas = [noted_commit(e) for e in given]
    try:
        notes = read_notes(repo, shas)  # one git process for all of them
    except GitError:
        notes = {}
    return [
        with_evidence(e, _parsed(notes.get(sha))) if sha else e
        for e, sha in zip(given, shas, strict=True)
    ]


class GitEvidenceWriter:
    """The cycle's evidence seam: a finished report's full record as the note of its
    commit (:class:`~engine.cycle.protocols.EvidenceWriter`)."""

    def __init__(self, repo: Repository, identity: Identity) -> None:
        self.repo = repo
        self.identity = identity

    def __call__(self, report: CycleReport) -> None:
        if report.commit:
            write_evidence(self.repo, report.commit, full_record(report), author=self.identity)
