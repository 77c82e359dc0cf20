"""Writes a cycle's records into its own commit.

``snapshots/<cycle-id>.json`` and ``memory-bank/cycles/<cycle-id>.md`` are added to the
candidate commit (amended, so an accepted change stays one commit) or, when the attempt
produced no code commit (a refused plan, a question), into a records-only commit on the
branch. The pages rendered from all the records — the goal's plan
(``memory-bank/plans/<goal>.md``) and ``memory-bank/questions.md`` — go into the same
commit when the cycle supplies them (``extras``), so they land with the next merge.
Trailers carry goal, provider, decision, ROI and the key metric deltas. The message
passes the redactor, like every record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from engine.gate.paths import record_paths
from engine.model import CycleReport, Identity
from engine.patching.workspace import write_files
from engine.records.render import memory_entry, memory_path, snapshot_json, snapshot_path, trailers
from engine.redact import redact
from engine.vcs import Repository, format_message

Extras = Callable[[CycleReport], Mapping[str, str]]
"""The memory-bank pages to commit with a report's records (path -> text)."""


def write_records(
    repo: Repository,
    worktree: Path,
    report: CycleReport,
    identity: Identity,
    rationale: str = "",
    extras: Mapping[str, str] | None = None,
) -> str:
    """Write the records into ``worktree`` and commit them; returns the commit SHA."""
    allowed = set(record_paths(report.cycle_id)[2:])
    write_files(
        worktree,
        {
            **{path: redact(text) for path, text in (extras or {}).items() if path in allowed},
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

    def __init__(self, repo: Repository, identity: Identity, extras: Extras | None = None) -> None:
        self.repo = repo
        self.identity = identity
        self.extras = extras

    def __call__(self, worktree: Path, report: CycleReport, rationale: str) -> str:
        extras = self.extras(report) if self.extras else None
        return write_records(self.repo, worktree, report, self.identity, rationale, extras)
