"""Writes a cycle's records into its own commit.

``snapshots/<cycle-id>.json`` and ``memory-bank/cycles/<cycle-id>.md`` are added to the
candidate commit (amended, so an accepted change stays one commit) or, when the attempt
produced no code commit (a refused plan), into a records-only commit on the branch.
Trailers carry goal, provider, decision, ROI and the key metric deltas. The message
passes the redactor, like every record.
"""

from __future__ import annotations

from pathlib import Path

from engine.model import CycleReport, Identity
from engine.patching.workspace import write_files
from engine.records.render import memory_entry, memory_path, snapshot_json, snapshot_path, trailers
from engine.redact import redact
from engine.vcs import Repository, format_message


def write_records(
    repo: Repository, worktree: Path, report: CycleReport, identity: Identity, rationale: str = ""
) -> str:
    """Write the records into ``worktree`` and commit them; returns the commit SHA."""
    write_files(
        worktree,
        {
            snapshot_path(report.cycle_id): snapshot_json(report),
            memory_path(report.cycle_id): memory_entry(report),
        },
    )
    subject = report.summary or f"ratchet: {report.outcome} attempt at {report.goal}"
    body = "\n\n".join(p for p in (rationale.strip(), f"ratchet: {report.message}") if p)
    message = redact(format_message(subject, body, trailers(report)))
    head = repo.head_of(worktree)
    if head and head != report.target_before and repo.is_bot_commit(head, identity):
        return repo.amend_all(worktree, message=message, author=identity)
    return repo.commit_all(worktree, message=message, author=identity)


class GitRecordWriter:
    """:func:`write_records` as the cycle's :class:`~engine.cycle.protocols.RecordWriter`."""

    def __init__(self, repo: Repository, identity: Identity) -> None:
        self.repo = repo
        self.identity = identity

    def __call__(self, worktree: Path, report: CycleReport, rationale: str) -> str:
        return write_records(self.repo, worktree, report, self.identity, rationale)
