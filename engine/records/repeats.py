"""Repeated failures: attempts that fail the way an earlier attempt at the same goal failed.

The measure of what failure memory (:mod:`engine.records.switches`) is for. Over recorded
attempts (journal entries, in record order; a human's decision is not an attempt):

**Failed attempt** — one of

- ``rejected``: the rules, a guard, the patcher or the self-review turned the change down;
- a *duplicate skip*: ``nothing-to-do`` that carries a diff fingerprint — the patcher made
  a diff and the duplicate check (:func:`engine.records.decisions.blocked`) found it among
  the rejected ones, so it was not evaluated again (an empty plan has no fingerprint);
- a plan-level ``error``: the model answered, but with an unusable edit plan even after
  the repair round (:class:`engine.errors.MalformedAnswer`, :data:`UNUSABLE_PLAN`).

Not failed attempts: transport errors, budget stops, questions, empty plans, merges, reviews.

**The same failure** — a failed attempt's keys; two attempts at one goal that share a key
failed the same way:

- ``diff``: the diff's fingerprint (:func:`engine.cycle.selection.diff_fingerprint`, the
  same diff text);
- ``place``: the files and symbols the change touched with the ids of the rules that
  failed (a judged change);
- ``refusal``: the patcher's refusal outcomes, each naming the edit, file and reason (a
  plan refused before any diff existed);
- ``answer``: the error's message, which quotes the parse problem (an unusable plan).

**Repeated failure** — a failed attempt that is a duplicate skip (a repeat by definition:
the gate matched its diff), or shares a key with an earlier failed attempt at the same
goal. :attr:`Repeats.same_diff` counts those matched by the diff alone (duplicate skips
included), the strict reading.

Rates: :attr:`Repeats.rate` = repeated ÷ failed attempts; :meth:`Repeats.per_cycle` =
repeated ÷ cycles. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.model.journal import JournalEntry

UNUSABLE_PLAN = "answered with an unusable edit plan"
"""What a plan-level error's message says (engine.providers.llm raises MalformedAnswer)."""

Key = tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Repeats:
    attempts: int  # recorded attempts (one per cycle id)
    failed: int  # failed attempts (module docstring)
    repeated: int  # failed attempts that repeat an earlier failure of the goal
    same_diff: int  # of those, the ones matched by the diff (duplicate skips included)
    repeated_ids: tuple[str, ...] = ()  # their cycle ids, in record order

    @property
    def rate(self) -> float | None:
        """Repeated ÷ failed attempts; None without a failed attempt."""
        return self.repeated / self.failed if self.failed else None

    def per_cycle(self, cycles: int) -> float | None:
        """Repeated ÷ ``cycles``; None for no cycle."""
        return self.repeated / cycles if cycles else None


def is_duplicate_skip(entry: JournalEntry) -> bool:
    return entry.outcome == "nothing-to-do" and bool(entry.fingerprint)


def is_failed(entry: JournalEntry) -> bool:
    """Whether ``entry`` is a failed attempt (module docstring)."""
    if entry.outcome == "rejected" or is_duplicate_skip(entry):
        return True
    return entry.outcome == "error" and UNUSABLE_PLAN in entry.message


def failure_keys(entry: JournalEntry) -> tuple[Key, ...]:
    """The keys of a failed attempt: what "failed the same way" compares (module docstring)."""
    keys: list[Key] = []
    if entry.fingerprint:
        keys.append(("diff", entry.fingerprint))
    change = entry.data.get("change")
    change = change if isinstance(change, dict) else {}
    files = tuple(sorted(str(f) for f in change.get("files") or ()))
    symbols = tuple(sorted(str(s) for s in change.get("symbols") or ()))
    failed = entry.failed_rules
    if files and failed:
        rules = ",".join(sorted({r.id for r in failed}))
        keys.append(("place", ";".join(files), ";".join(symbols), rules))
    elif failed and not entry.fingerprint:
        keys.append(("refusal", *sorted(f"{r.id}: {r.detail}" for r in failed)))
    if entry.outcome == "error":
        keys.append(("answer", " ".join(entry.message.split())))
    return tuple(keys)


def repeated_failures(entries: Sequence[JournalEntry]) -> Repeats:
    """Count the failed and the repeated attempts among ``entries`` (module docstring).

    ``entries`` in record order; an entry recorded twice (same cycle id) counts once, as
    last recorded; entries of a human's decision and entries without a goal are left out."""
    latest: dict[str, JournalEntry] = {}
    for e in entries:
        if e.goal and not (e.data.get("human") or {}).get("action"):
            latest[e.cycle_id] = e
    seen: dict[str, set[Key]] = {}
    failed = same_diff = 0
    repeated: list[str] = []
    for e in latest.values():
        if not is_failed(e):
            continue
        failed += 1
        assert e.goal is not None
        known = seen.setdefault(e.goal, set())
        keys = failure_keys(e)
        by_diff = is_duplicate_skip(e) or any(k[0] == "diff" and k in known for k in keys)
        if by_diff or any(k in known for k in keys):
            repeated.append(e.cycle_id)
            same_diff += by_diff
        known.update(keys)
    return Repeats(
        attempts=len(latest),
        failed=failed,
        repeated=len(repeated),
        same_diff=same_diff,
        repeated_ids=tuple(repeated),
    )
