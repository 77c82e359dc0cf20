"""Pure text views of cycle entries (snapshot / journal dicts) for the CLI: metric deltas,
an age, the rules that asked for a human, the diff without ratchet's own record files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.gate.paths import MEMORY_DIR, SNAPSHOT_DIR
from engine.records.render import KEY_METRICS


def number_at(data: Any, path: str) -> float | None:
    """The number at dotted ``path`` in nested mappings; None when missing or not a number
    (booleans are not numbers). The one lookup of a metric in a record."""
    for part in path.split("."):
        data = data.get(part) if isinstance(data, Mapping) else None
    if isinstance(data, bool) or not isinstance(data, int | float):
        return None
    return float(data)


def short_number(x: float) -> str:
    """``12`` for a whole number, ``12.35`` otherwise."""
    return str(int(x)) if x.is_integer() else f"{x:.2f}"


def deltas(entry: Mapping[str, Any], *, arrows: bool = False) -> str:
    """``lint -3, coverage % +0.4`` (or ``lint 12 → 9`` with ``arrows``); changed key metrics
    only; "" when none is known."""
    base, cand = entry.get("baseline") or {}, entry.get("candidate") or {}
    parts = []
    for path, label in KEY_METRICS:
        b, c = number_at(base, path), number_at(cand, path)
        if b is None or c is None or b == c:
            continue
        parts.append(
            f"{label} {short_number(b)} → {short_number(c)}" if arrows else f"{label} {c - b:+g}"
        )
    if not parts and entry.get("delta"):
        parts = [f"{k} {v:+g}" for k, v in dict(entry["delta"]).items()]
    return ", ".join(parts)


def age(iso: str, now: datetime) -> str:
    """``5m``, ``3h``, ``2d`` since ``iso`` (``?`` when unreadable)."""
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return "?"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def review_reasons(entry: Mapping[str, Any]) -> str:
    """Why a human is asked: the failed ``on_fail: review`` rules, or the merge mode."""
    if entry.get("outcome") == "pending":
        return "pending: the target is checked out with local changes"
    rules = [
        str(r.get("id"))
        for r in entry.get("rules") or []
        if r.get("applicable", True) and not r.get("passed") and r.get("on_fail") == "review"
    ]
    return ", ".join(rules) or "merge: review (directives.yaml)"


def without_records(diff: str) -> str:
    """A unified diff without the hunks of ``snapshots/`` and ``memory-bank/cycles/``."""
    chunks = diff.split("\ndiff --git ")
    kept = []
    for i, chunk in enumerate(chunks):
        text = chunk if i == 0 else "diff --git " + chunk
        header = text.partition("\n")[0]
        if f" a/{SNAPSHOT_DIR}/" in header or f" a/{MEMORY_DIR}/" in header:
            continue
        kept.append(text)
    return "\n".join(kept).strip("\n")
