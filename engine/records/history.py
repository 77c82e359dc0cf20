"""``ratchet log``'s data and text: the local journal merged with the snapshots kept in git
(the current branch's ``snapshots/``, review branches and ``refs/ratchet/*``), so a fresh
clone still shows every recorded cycle."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable

from engine.gate.paths import SNAPSHOT_DIR
from engine.model.journal import JournalEntry
from engine.records.journal import read_journal
from engine.vcs import ARCHIVE_REFS, BRANCH_REFS, Repository
from engine.vcs.blobs import read_blobs

# heads -> what they hold: the commits fix the trees, so a cycle that reads the history
# several times (lessons, questions, the failure memory) lists each tree once per process
_READ: dict[tuple[str, ...], tuple[JournalEntry, ...]] = {}
_KEEP = 8
_LOCK = threading.Lock()  # workers read the history from several threads


def snapshots_in_git(repo: Repository) -> list[JournalEntry]:
    """Every ``snapshots/*.json`` reachable from HEAD, ratchet's archive refs and its
    branches (each path once; files that are not a JSON object are skipped)."""
    refs = repo.list_refs(ARCHIVE_REFS, BRANCH_REFS, "refs/remotes/")
    heads = [repo.rev_parse("HEAD")]
    heads += [sha for ref, sha in refs.items() if ref.startswith(ARCHIVE_REFS)]
    heads += [sha for ref, sha in refs.items() if ref.startswith(BRANCH_REFS)]
    # a fresh clone: the candidates are remote-tracking branches
    heads += [
        sha for ref, sha in refs.items() if ref.startswith("refs/remotes/") and "/ratchet/" in ref
    ]
    key = tuple(dict.fromkeys(h for h in heads if h))
    with _LOCK:
        known = _READ.get(key)
    if known is None:
        known = tuple(_read_snapshots(repo, key))
        with _LOCK:
            if len(_READ) >= _KEEP:
                _READ.pop(next(iter(_READ)))
            _READ[key] = known
    return list(known)


def _read_snapshots(repo: Repository, heads: tuple[str, ...]) -> list[JournalEntry]:
    found: list[JournalEntry] = []
    first: dict[str, str] = {}  # path -> the first head that has it
    for head in heads:
        for path in repo.ls_files(head, under=SNAPSHOT_DIR):
            if path.startswith(f"{SNAPSHOT_DIR}/") and path.endswith(".json"):
                first.setdefault(path, head)
    texts = read_blobs(repo, [f"{head}:{path}" for path, head in first.items()])
    for path, head in first.items():
        try:
            data = json.loads(texts.get(f"{head}:{path}") or "")
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            found.append(JournalEntry.from_json(data))
    return found


def merge_history(
    journal: Iterable[JournalEntry], snapshots: Iterable[JournalEntry]
) -> list[JournalEntry]:
    """One entry per cycle id, the journal's winning (it is newer), oldest cycle first."""
    seen: dict[str, JournalEntry] = {}
    for entry in snapshots:
        seen.setdefault(entry.cycle_id, entry)
    for entry in journal:
        seen[entry.cycle_id] = entry
    return sorted(seen.values(), key=lambda e: (e.started, e.cycle_id))


def load_history(repo: Repository) -> list[JournalEntry]:
    return merge_history(read_journal(repo.state_dir), snapshots_in_git(repo))


def format_entry(entry: JournalEntry) -> str:
    """One human block per cycle for ``ratchet log``."""
    # here, not at the top: engine.gate.guards loads every guard, and `ratchet status`
    # (which imports this module, but formats no entry) should not pay for them
    from engine.gate.guards.base import ALLOWED

    head = f"{entry.cycle_id}  {entry.goal}  {entry.outcome.upper()}  {entry.summary}".rstrip()
    lines = [head]
    if entry.message:
        lines.append(f"    {entry.message}")
    if entry.branch or entry.rejected_ref:
        lines.append(
            f"    branch: {entry.branch}  commit: {str(entry.commit)[:12]}"
            + (f"  kept at {entry.rejected_ref}" if entry.rejected_ref else "")
        )
    if entry.delta:
        lines.append("    deltas: " + ", ".join(f"{k} {v:+g}" for k, v in entry.delta))
    for rule in entry.rules:
        if rule.failed:
            lines.append(f"    failed {rule.id}: {rule.detail}")
        elif rule.detail.startswith(ALLOWED):
            lines.append(f"    allowed {rule.id}: {rule.detail}")
    if entry.tokens_in or entry.tokens_out:
        lines.append(
            f"    tokens: {entry.tokens_in}+{entry.tokens_out}  cost: ${entry.cost_usd:.4f}"
        )
    if entry.roi is not None and entry.measured:
        lines.append(f"    roi: {entry.roi}")
    return "\n".join(lines)
