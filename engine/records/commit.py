"""Writes a cycle's records into its own commit.

``snapshots/<cycle-id>.json`` and ``memory-bank/cycles/<cycle-id>.md`` are added to the
candidate commit (amended, so an accepted change stays one commit) or, when the attempt
produced no code commit (a refused plan, a question), into a records-only commit on the
branch. The pages rendered from all the records — the goal's plan
(``memory-bank/plans/<goal>.md``) and ``memory-bank/questions.md`` — go into the same
commit when the cycle supplies them (``extras``), so they land with the next merge.
Trailers carry goal, provider, decision, ROI and the key metric deltas. The message
passes the redactor, like every record. Every N-th attempt at a goal, when it is rejected,
also carries the goal's distilled lessons, ``memory-bank/lessons/<goal>.md``
(:mod:`engine.records.distil`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from engine.gate.paths import record_paths
from engine.model import CycleReport, Goal, Identity
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
    lessons: Mapping[str, str] | None = None,
) -> str:
    """Write the records into ``worktree`` and commit them; returns the commit SHA.
    ``extras``: the pages rendered from the records (only the cycle's plan page and the
    questions page are taken); ``lessons``: the distilled lessons file (path -> text)."""
    allowed = set(record_paths(report.cycle_id)[2:])
    write_files(
        worktree,
        {
            **{path: redact(text) for path, text in (extras or {}).items() if path in allowed},
            snapshot_path(report.cycle_id): snapshot_json(report),
            memory_path(report.cycle_id): memory_entry(report),
            **(lessons or {}),
        },
    )
    subject = report.summary or f"ratchet: {report.outcome} attempt at {report.goal}"
    body = "\n\n".join(p for p in (rationale.strip(), f"ratchet: {report.message}") if p)
    message = redact(format_message(subject, body, trailers(report)))
    head = repo.head_of(worktree)
    if head and head != report.target_before and repo.is_bot_commit(head, identity):
        return repo.amend_all(worktree, message=message, author=identity)
    return repo.commit_all(worktree, message=message, author=identity)


def lessons_file(repo: Repository, report: CycleReport, goals: Sequence[Goal]) -> dict[str, str]:
    """``{memory-bank/lessons/<goal>.md: text}`` when ``report`` is the attempt that
    writes it (:func:`engine.records.distil.due`), else {}. The goal's attempts are read
    from the records (journal and git) plus ``report`` itself."""
    from engine.model.journal import JournalEntry
    from engine.records.distil import attempts_of, distil, due, lessons_path
    from engine.records.history import load_history
    from engine.records.render import full_record
    from engine.records.switches import lessons_every

    goal = next((g for g in goals if g.id == report.goal), None)
    if goal is None or report.outcome != "rejected":
        return {}
    every = lessons_every(goal)
    if every == 0:  # lessons off: no history read
        return {}
    entries = [*load_history(repo), JournalEntry.from_json(full_record(report))]
    attempts = attempts_of(entries, goal.id)
    if not attempts or attempts[-1].cycle_id != report.cycle_id or not due(attempts, every):
        return {}
    return {lessons_path(goal.id): redact(distil(goal.id, attempts, every))}


class GitRecordWriter:
    """:func:`write_records` as the cycle's :class:`~engine.cycle.protocols.RecordWriter`;
    with ``goals``, the distilled lessons too (:func:`lessons_file`); with ``extras``, the
    pages the cycle renders from the records (plan, questions)."""

    def __init__(
        self,
        repo: Repository,
        identity: Identity,
        goals: Sequence[Goal] = (),
        extras: Extras | None = None,
    ) -> None:
        self.repo = repo
        self.identity = identity
        self.goals = tuple(goals)
        self.extras = extras

    def __call__(self, worktree: Path, report: CycleReport, rationale: str) -> str:
        pages = self.extras(report) if self.extras else None
        lessons = lessons_file(self.repo, report, self.goals)
        return write_records(self.repo, worktree, report, self.identity, rationale, pages, lessons)
