"""The records as frozen values: a journal entry (one recorded attempt, parsed once where it
is read) and a pending merge (one entry of the pending queue).

The same shape comes from two places: a line of ``.ratchet/journal.jsonl`` and a
``snapshots/<cycle-id>.json`` file found in git (both are :func:`engine.records.render.
full_record` output, abridged in a snapshot). Parsing is lenient on purpose: journals
written by older versions lack some keys, and a field of an unexpected type is read as its
default rather than losing the whole entry. The JSON as read is kept in ``data`` for
``ratchet log --json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class RuleRecord:
    """One recorded rule or guard outcome."""

    id: str
    passed: bool
    detail: str = ""
    on_fail: str = "reject"
    applicable: bool = True

    @property
    def failed(self) -> bool:
        return self.applicable and not self.passed


@dataclass(frozen=True, kw_only=True)
class JournalEntry:
    """What one attempt recorded (see :class:`engine.model.CycleReport` for the writer)."""

    cycle_id: str
    goal: str | None = None
    outcome: str = ""
    message: str = ""
    summary: str = ""
    attempt: int = 0
    branch: str | None = None
    commit: str | None = None
    target: str | None = None
    target_before: str | None = None
    target_after: str | None = None
    rejected_ref: str | None = None
    started: str = ""
    finished: str = ""
    fingerprint: str = ""
    roi: float | None = None
    delta: tuple[tuple[str, float], ...] = ()
    rules: tuple[RuleRecord, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    measured: bool = False  # a candidate was measured (its metrics are in ``data``)
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def failed_rules(self) -> tuple[RuleRecord, ...]:
        return tuple(r for r in self.rules if r.failed)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JournalEntry:
        """Read one recorded attempt; missing or mistyped keys take their defaults."""
        usage = _mapping(data.get("usage"))
        delta = _mapping(data.get("delta"))
        roi = data.get("roi")
        return cls(
            cycle_id=str(data.get("cycle_id", "")),
            goal=_opt_str(data.get("goal")),
            outcome=_str(data.get("outcome")),
            message=_str(data.get("message")),
            summary=_str(data.get("summary")),
            attempt=_int(data.get("attempt")),
            branch=_opt_str(data.get("branch")),
            commit=_opt_str(data.get("commit")),
            target=_opt_str(data.get("target")),
            target_before=_opt_str(data.get("target_before")),
            target_after=_opt_str(data.get("target_after")),
            rejected_ref=_opt_str(data.get("rejected_ref")),
            started=_str(data.get("started")),
            finished=_str(data.get("finished")),
            fingerprint=_str(data.get("fingerprint")),
            roi=float(roi) if isinstance(roi, int | float) and _number(roi) else None,
            delta=tuple((str(k), float(v)) for k, v in delta.items() if _number(v)),
            rules=tuple(
                _rule(r) for r in _list(data.get("rules")) if isinstance(r, Mapping) and "id" in r
            ),
            tokens_in=_int(usage.get("tokens_in")),
            tokens_out=_int(usage.get("tokens_out")),
            cost_usd=float(usage["cost_usd"]) if _number(usage.get("cost_usd")) else 0.0,
            measured=bool(data.get("candidate")),
            data=dict(data),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON as it was recorded (unknown keys included)."""
        return dict(self.data)


@dataclass(frozen=True, kw_only=True)
class PendingMerge:
    """One candidate waiting to be merged."""

    goal: str
    branch: str
    commit: str  # the branch tip to land (candidate + its records)
    target: str
    target_before: str  # the tip the candidate was judged against
    cycle_id: str
    evaluated: str = ""  # the candidate commit the gate measured ("" in old queues)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PendingMerge | None:
        """None for an entry missing a required key (it cannot be acted on)."""
        try:
            return cls(
                goal=str(data["goal"]),
                branch=str(data["branch"]),
                commit=str(data["commit"]),
                target=str(data["target"]),
                target_before=str(data["target_before"]),
                cycle_id=str(data["cycle_id"]),
                evaluated=str(data.get("evaluated") or ""),
            )
        except KeyError:
            return None


def _rule(data: Mapping[str, Any]) -> RuleRecord:
    return RuleRecord(
        id=str(data["id"]),
        passed=bool(data.get("passed")),
        detail=_str(data.get("detail")),
        on_fail=_str(data.get("on_fail")) or "reject",
        applicable=bool(data.get("applicable", True)),
    )


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return int(value) if _number(value) else 0


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
