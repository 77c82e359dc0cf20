"""What ``ratchet report`` shows, as frozen values computed from the recorded history.

Pure: :func:`summarise` takes the history as ``ratchet log`` reads it (dicts, oldest first:
journal + snapshots in git + human decisions, see :mod:`engine.records.timeline`) and
returns one :class:`GoalReport` per goal. Lenient like the journal reader: a key an older
or slimmer record lacks is simply not plotted.

- metrics over time: per measured cycle, the target's value (the baseline the cycle judged
  against) and the candidate's, for coverage, complexity, lint, tests and the ROI;
- acceptance rate: merged candidates / candidates proposed (merged, rejected, review,
  pending, refused, reverted by a human);
- rejection reasons: each failed rule (or a human's decision) of a rejected candidate;
- time per step: the snapshot's ``timings`` (step -> seconds) when recorded, else what
  older records hold (provider call, baseline and candidate measurement);
- model spend: tokens and dollars of the provider calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.records.cause import cause, failed_rules
from engine.records.view import deltas, number_at

# (chart id, title, metric path read in baseline/candidate)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("coverage", "Coverage %", "coverage.percent"),
    ("complexity", "Complexity (total cyclomatic)", "complexity.total"),
    ("lint", "Lint violations", "lint.violations"),
    ("tests", "Tests passed", "tests.passed"),
)
PROPOSED = ("merged", "rejected", "review", "pending", "refused", "reverted", "review-deleted")
REJECTED = ("rejected", "refused", "reverted")
NOT_CYCLES = ("push-failed",)  # journal lines about a cycle, not cycles


@dataclass(frozen=True, kw_only=True)
class Point:
    """One measured cycle: x label and the values plotted (None: not recorded)."""

    cycle_id: str
    label: str  # short start time
    outcome: str
    baseline: tuple[float | None, ...]  # in METRICS order
    candidate: tuple[float | None, ...]
    roi: float | None


@dataclass(frozen=True, kw_only=True)
class Row:
    """One candidate in the table."""

    cycle_id: str
    goal: str
    outcome: str
    started: str
    summary: str
    deltas: str
    cause: str
    branch: str
    commit: str
    cost_usd: float


@dataclass(frozen=True, kw_only=True)
class GoalReport:
    goal: str
    cycles: int
    outcomes: tuple[tuple[str, int], ...]  # outcome -> count, most frequent first
    proposed: int
    merged: int
    points: tuple[Point, ...]
    reasons: tuple[tuple[str, int], ...]  # rejection reason -> count
    steps: tuple[tuple[str, float], ...]  # step -> mean seconds over the cycles timing it
    tokens_in: int
    tokens_out: int
    cost_usd: float
    rows: tuple[Row, ...]  # newest first
    outlook: tuple[str, ...] = ()  # plan progress, next sub-task, done_when forecast

    @property
    def acceptance(self) -> float | None:
        """Merged / proposed, or None when nothing was proposed."""
        return self.merged / self.proposed if self.proposed else None


def number(data: Any, path: str) -> float | None:
    """The number at dotted ``path`` in nested mappings (booleans are not numbers)."""
    found = number_at(data, path)
    return None if found is None else round(found, 2)


def timings(entry: Mapping[str, Any]) -> dict[str, float]:
    """Step -> seconds of one cycle (see the module docstring)."""
    recorded = entry.get("timings")
    if isinstance(recorded, Mapping):
        steps = recorded.get("steps", recorded)
        if isinstance(steps, Mapping):
            out = {str(k): number(steps, str(k)) for k in steps}
            return {k: v for k, v in out.items() if v is not None}
    older = {
        "provider": number(entry, "usage.seconds"),
        "baseline": number(entry, "baseline.seconds"),
        "candidate": number(entry, "candidate.seconds"),
    }
    return {k: v for k, v in older.items() if v}


def reasons(entry: Mapping[str, Any]) -> list[str]:
    """Why a rejected candidate was rejected: a human's decision, else its failed rules."""
    human = entry.get("human") or {}
    if human.get("action"):
        return [f"human: {human['action']}"]
    found = [str(r.get("id")) for r in failed_rules(entry)]
    return found or ([str(entry.get("outcome"))] if entry.get("outcome") == "refused" else [])


def _label(started: str) -> str:
    return started[5:16].replace("T", " ") if len(started) >= 16 else started or "?"


def _point(entry: Mapping[str, Any]) -> Point | None:
    base, cand = entry.get("baseline") or {}, entry.get("candidate") or {}
    b = tuple(number(base, path) for _, _, path in METRICS)
    c = tuple(number(cand, path) for _, _, path in METRICS)
    if all(v is None for v in b + c):
        return None
    roi = entry.get("roi")
    return Point(
        cycle_id=str(entry.get("cycle_id")),
        label=_label(str(entry.get("started") or "")),
        outcome=str(entry.get("outcome")),
        baseline=b,
        candidate=c,
        roi=round(float(roi), 2) if isinstance(roi, int | float) and cand else None,
    )


def _row(entry: Mapping[str, Any]) -> Row:
    return Row(
        cycle_id=str(entry.get("cycle_id")),
        goal=str(entry.get("goal") or ""),
        outcome=str(entry.get("outcome")),
        started=str(entry.get("started") or ""),
        summary=str(entry.get("summary") or ""),
        deltas=deltas(entry),
        cause=cause(entry) if entry.get("outcome") != "merged" else "",
        branch=str(entry.get("branch") or ""),
        commit=str(entry.get("commit") or ""),
        cost_usd=float(number(entry, "usage.cost_usd") or 0.0),
    )


def summarise_goal(goal: str, entries: list[Mapping[str, Any]]) -> GoalReport:
    """The report of one goal from its entries, oldest first."""
    outcomes = Counter(str(e.get("outcome")) for e in entries)
    why: Counter[str] = Counter()
    step_total: dict[str, float] = {}
    step_count: Counter[str] = Counter()
    for e in entries:
        if e.get("outcome") in REJECTED:
            why.update(reasons(e))
        for step, seconds in timings(e).items():
            step_total[step] = step_total.get(step, 0.0) + seconds
            step_count[step] += 1
    points = tuple(p for p in map(_point, entries) if p is not None)
    rows = tuple(_row(e) for e in reversed(entries) if e.get("outcome") in PROPOSED)
    return GoalReport(
        goal=goal,
        cycles=len(entries),
        outcomes=tuple(outcomes.most_common()),
        proposed=sum(outcomes[o] for o in PROPOSED),
        merged=outcomes["merged"],
        points=points,
        reasons=tuple(why.most_common()),
        steps=tuple((s, round(step_total[s] / step_count[s], 2)) for s in step_total),
        tokens_in=sum(int(number(e, "usage.tokens_in") or 0) for e in entries),
        tokens_out=sum(int(number(e, "usage.tokens_out") or 0) for e in entries),
        cost_usd=round(sum(float(number(e, "usage.cost_usd") or 0) for e in entries), 4),
        rows=rows,
    )


def summarise(history: Iterable[Mapping[str, Any]]) -> tuple[GoalReport, ...]:
    """One report per goal, in the order goals first appear; entries without a goal (a
    cycle that found none to work on) and push failures are left out."""
    by_goal: dict[str, list[Mapping[str, Any]]] = {}
    for e in history:
        if e.get("goal") and e.get("outcome") not in NOT_CYCLES:
            by_goal.setdefault(str(e["goal"]), []).append(e)
    return tuple(summarise_goal(g, es) for g, es in by_goal.items())
