"""The journal put back in step with git after a run died (run-once does this first).

A merge is the compare-and-swap of the target ref; its journal line is appended after it. A
run killed between the two would leave a merge the journal does not know, so every run-once
(under the cycle lock, before its cycle) walks the newest :data:`SCAN_LIMIT` first-parent
commits of the target: each ratchet commit there (``Ratchet-Cycle`` and
``Ratchet-Decision: merged`` trailers) whose cycle id is not in the journal gets its entry
appended, built from the ``snapshots/<cycle-id>.json`` the commit carries, completed from
its evidence note when there is one (its trailers when it has no snapshot), with
``commit``/``target_after`` set to the commit. The walk stops at the first ratchet commit
the journal already knows, so it costs one short ``git log`` when nothing is missing. Git
is the truth: an entry is only ever added, never changed.

A line torn by a kill mid-append (no final newline) is first closed with a newline, so the
next append does not glue a valid line onto it; readers skip the torn line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.records import journal
from engine.records.evidence import evidence_for, with_evidence
from engine.records.layout import journal_file
from engine.records.render import snapshot_path
from engine.vcs import Repository, parse_trailers
from engine.vcs.history import first_parent_messages
from engine.vcs.refs import branch_ref

SCAN_LIMIT = 200
RECONCILED_NOTE = "journal entry restored from git: the run that merged it ended before writing it"


def reconcile_journal(repo: Repository, target: str) -> tuple[str, ...]:
    """Append the entries of merges on ``target`` the journal lacks; their cycle ids."""
    state_dir = repo.state_dir
    close_torn_line(state_dir)
    known = {e.cycle_id for e in journal.read_journal(state_dir)}
    missing: list[dict[str, Any]] = []
    for sha, message in first_parent_messages(repo, branch_ref(target), SCAN_LIMIT):
        trailers = parse_trailers(message)
        cycle_id = trailers.get("Ratchet-Cycle")
        if not cycle_id:
            continue
        if cycle_id in known:
            break
        if trailers.get("Ratchet-Decision") == "merged":
            missing.append(_entry(repo, sha, message, trailers, target))
    for entry in reversed(missing):  # oldest first, as the journal is
        append_entry(state_dir, entry)
    return tuple(str(e["cycle_id"]) for e in reversed(missing))


def close_torn_line(state_dir: Path) -> bool:
    """End the journal with a newline if a killed append left it without one."""
    path = journal_file(state_dir)
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            if fh.tell() == 0:
                return False
            fh.seek(-1, 2)
            torn = fh.read(1) != b"\n"
    except OSError:
        return False
    if torn:
        with path.open("ab") as fh:
            fh.write(b"\n")
    return torn


def append_entry(state_dir: Path, entry: dict[str, Any]) -> None:
    """One journal line in the format :func:`journal.append` writes (compact, sorted keys),
    written with a single ``write`` call."""
    state_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True) + "\n"
    with journal_file(state_dir).open("a", encoding="utf-8") as fh:
        fh.write(line)


def _entry(
    repo: Repository, sha: str, message: str, trailers: dict[str, str], target: str
) -> dict[str, Any]:
    cycle_id = trailers["Ratchet-Cycle"]
    entry: dict[str, Any] = {}
    text = repo.show_file(sha, snapshot_path(cycle_id))
    try:
        data = json.loads(text or "")
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and data.get("cycle_id") == cycle_id:
        # the full record when the run lived long enough to attach its note
        entry = with_evidence(data, evidence_for(repo, sha))
    else:
        entry = {
            "cycle_id": cycle_id,
            "goal": trailers.get("Ratchet-Goal"),
            "summary": message.partition("\n")[0],
            "target": target,
        }
    notes = entry.get("notes")
    entry.update(
        outcome="merged",
        commit=sha,
        target_after=sha,
        notes=[*(notes if isinstance(notes, list) else []), RECONCILED_NOTE],
    )
    return entry
