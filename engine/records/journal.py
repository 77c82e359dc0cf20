"""The local cycle journal (``.ratchet/journal.jsonl``) and ``ratchet log``'s reader.

Every cycle appends one JSON line, including outcomes that leave no commit
(nothing-to-do, refused, pending, error). ``read_history`` merges the journal with the
snapshots found in git, so a fresh clone still shows every merged and rejected cycle.
Each line passes the redactor before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.gate.guards.base import ALLOWED
from engine.model import CycleReport
from engine.records.render import metric_deltas, snapshot_json
from engine.redact import redact_data


def journal_path(state_dir: Path) -> Path:
    return state_dir / "journal.jsonl"


def append(state_dir: Path, report: CycleReport) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps(redact_data(json.loads(snapshot_json(report))), sort_keys=True)
    with journal_path(state_dir).open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read_journal(state_dir: Path) -> list[dict[str, Any]]:
    path = journal_path(state_dir)
    if not path.exists():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError:
            continue  # a torn last line after a crash: skip it, keep the rest
    return out


def merge_history(
    journal: Iterable[dict[str, Any]], snapshots: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One entry per cycle id, journal first (it is newer), oldest cycle first."""
    seen: dict[str, dict[str, Any]] = {}
    for entry in snapshots:
        seen.setdefault(str(entry.get("cycle_id")), entry)
    for entry in journal:
        seen[str(entry.get("cycle_id"))] = entry
    return sorted(seen.values(), key=lambda e: (str(e.get("started", "")), str(e.get("cycle_id"))))


def format_entry(entry: dict[str, Any]) -> str:
    """One human block per cycle for ``ratchet log``."""
    head = (
        f"{entry.get('cycle_id')}  {entry.get('goal')}  {str(entry.get('outcome')).upper()}"
        f"  {entry.get('summary') or ''}"
    ).rstrip()
    lines = [head]
    if entry.get("message"):
        lines.append(f"    {entry['message']}")
    if entry.get("branch") or entry.get("rejected_ref"):
        lines.append(
            f"    branch: {entry.get('branch')}  commit: {str(entry.get('commit'))[:12]}"
            + (f"  kept at {entry['rejected_ref']}" if entry.get("rejected_ref") else "")
        )
    deltas = entry.get("delta") or {}
    if deltas:
        lines.append("    deltas: " + ", ".join(f"{k} {v:+g}" for k, v in deltas.items()))
    for rule in entry.get("rules", []):
        if rule.get("applicable", True) and not rule.get("passed"):
            lines.append(f"    failed {rule['id']}: {rule.get('detail', '')}")
        elif str(rule.get("detail", "")).startswith(ALLOWED):
            lines.append(f"    allowed {rule['id']}: {rule['detail']}")
    usage = entry.get("usage") or {}
    if usage.get("tokens_in") or usage.get("tokens_out"):
        lines.append(
            f"    tokens: {usage.get('tokens_in')}+{usage.get('tokens_out')}"
            f"  cost: ${usage.get('cost_usd', 0):.4f}"
        )
    if entry.get("roi") is not None and entry.get("candidate"):
        lines.append(f"    roi: {entry['roi']}")
    return "\n".join(lines)


__all__ = ["append", "format_entry", "merge_history", "metric_deltas", "read_journal"]


def pending_path(state_dir: Path) -> Path:
    return state_dir / "pending.json"


def read_pending(state_dir: Path) -> list[dict[str, Any]]:
    """Accepted candidates whose merge waits for a clean checked-out target."""
    path = pending_path(state_dir)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def write_pending(state_dir: Path, entries: list[dict[str, Any]]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = pending_path(state_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    tmp.replace(pending_path(state_dir))


def add_pending(state_dir: Path, entry: dict[str, Any]) -> None:
    entries = [e for e in read_pending(state_dir) if e.get("branch") != entry.get("branch")]
    write_pending(state_dir, [*entries, entry])
