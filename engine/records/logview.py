"""``ratchet log``'s view of the history: filters, the truth about review candidates, and
one text block per cycle.

- :func:`select` filters by goal, outcome and start time, then keeps the last ``limit``;
- :func:`settle` says what became of review candidates a human handled with plain git
  (merged by hand, branch deleted), so ``log`` never shows REVIEW for a decided one;
- :func:`collapse` turns a run of identical ``nothing-to-do`` entries into one with a count;
- :func:`format_entry` names the cause (:func:`engine.records.cause.cause`), not the CEL
  values, which ``verbose`` adds. No ``None`` ever reaches the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.records.cause import cause, failed_rules
from engine.records.view import deltas


def _when(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.now().astimezone().tzinfo)


def select(
    entries: Iterable[Mapping[str, Any]],
    *,
    goal: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    limit: int = 0,
) -> list[dict[str, Any]]:
    """The entries matching every filter given, oldest first; the last ``limit`` (0: all)."""
    out = []
    for e in entries:
        if goal and e.get("goal") != goal:
            continue
        if outcome and str(e.get("outcome")) != outcome:
            continue
        if since is not None:
            started = _when(str(e.get("started") or ""))
            if started is None or started < since:
                continue
        out.append(dict(e))
    return out[-limit:] if limit > 0 else out


def settle(
    entries: Sequence[Mapping[str, Any]],
    *,
    branch_tip: Mapping[str, str],
    merged: Iterable[str],
) -> list[dict[str, Any]]:
    """Review entries made true: ``merged`` (by a human's git merge) when its commit is in
    ``merged``, ``review (branch deleted)`` when its branch is gone from ``branch_tip``
    (branch name -> tip sha)."""
    done = set(merged)
    out: list[dict[str, Any]] = []
    for e in map(dict, entries):
        if e.get("outcome") == "review" and e.get("commit"):
            if e["commit"] in done:
                e = {**e, "outcome": "merged", "message": "merged by a human with git"}
            elif e.get("branch") and e["branch"] not in branch_tip:
                e = {**e, "message": f"{e.get('message', '')}; its branch was deleted".lstrip("; ")}
                e = {**e, "outcome": "review-deleted"}
        out.append(e)
    return out


def collapse(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive ``nothing-to-do`` entries with the same goal and message -> the last
    one, with ``repeated`` = how many there were."""
    out: list[dict[str, Any]] = []
    for e in entries:
        prev = out[-1] if out else None
        same = (
            prev is not None
            and e.get("outcome") == "nothing-to-do" == prev.get("outcome")
            and e.get("goal") == prev.get("goal")
            and e.get("message") == prev.get("message")
        )
        if same and prev is not None:
            out[-1] = {
                **e,
                "repeated": int(prev.get("repeated", 1)) + 1,
                "first": prev.get("first", prev.get("started")),
            }
        else:
            out.append(dict(e))
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def format_entry(entry: Mapping[str, Any], *, verbose: bool = False) -> str:
    """One human block per cycle (see the module docstring)."""
    outcome = _text(entry.get("outcome")).upper()
    repeated = int(entry.get("repeated", 1))
    when = _text(entry.get("started"))
    if repeated > 1:
        when = f"{_text(entry.get('first'))} .. {when}"
        outcome += f" ×{repeated}"
    head = f"{when}  {_text(entry.get('goal')) or '-'}  {outcome}  {_text(entry.get('summary'))}"
    lines = [head.rstrip()]
    if entry.get("message"):
        lines.append(f"    {entry['message']}")
    where = []
    if entry.get("branch"):
        where.append(f"branch: {entry['branch']}")
    if entry.get("commit"):
        where.append(f"commit: {str(entry['commit'])[:12]}")
    if entry.get("rejected_ref"):
        where.append(f"kept at {entry['rejected_ref']}")
    if where:
        lines.append("    " + "  ".join(where))
    moved = deltas(entry)
    if moved:
        lines.append(f"    deltas: {moved}")
    why = cause(entry)
    if why and (failed_rules(entry) or (entry.get("human") or {}).get("action")):
        lines.append(f"    cause: {why}")
    for rule in failed_rules(entry):
        detail = f": {rule['detail']}" if verbose and rule.get("detail") else ""
        lines.append(f"    failed {rule.get('id')}{detail}")
    if verbose:
        for rule in entry.get("rules") or []:
            if rule.get("passed") or not rule.get("applicable", True):
                detail = f": {rule['detail']}" if rule.get("detail") else ""
                lines.append(f"    passed {rule.get('id')}{detail}")
        if entry.get("rules_passed"):  # an abridged snapshot without its note: ids only
            lines.append(f"    passed {', '.join(map(str, entry['rules_passed']))}")
        for note in entry.get("notes") or []:
            lines.append(f"    note: {note}")
        if entry.get("cycle_id"):
            lines.append(f"    cycle: {entry['cycle_id']}")
    usage = entry.get("usage") or {}
    if usage.get("tokens_in") or usage.get("tokens_out"):
        lines.append(
            f"    tokens: {usage.get('tokens_in', 0)}+{usage.get('tokens_out', 0)}"
            f"  cost: ${float(usage.get('cost_usd') or 0):.4f}"
        )
    return "\n".join(lines)
