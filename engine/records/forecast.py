"""When will a goal's ``done_when`` hold, at the rate the records show?

Only a ``done_when`` of the form ``candidate.<metric> <op> <number>`` can be forecast
(``candidate.lint.violations == 0``, ``candidate.goal >= 90``,
``candidate.complexity.max <= 10``): the metric's value on the target at each of the
goal's recorded cycles (the baseline each cycle was judged against, once per commit) is
the trend; its mean step per cycle and the mean time between cycles give how many more
cycles, and about when. Pure: journal entries in, a sentence out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.model import Goal
from engine.model.journal import JournalEntry

_FORM = re.compile(
    r"^\s*candidate\.([a-z_]+(?:\.[a-z_]+)?)\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)\s*$"
)


@dataclass(frozen=True, kw_only=True)
class Forecast:
    metric: str
    current: float | None
    target: float
    per_cycle: float = 0.0  # mean change per recorded cycle (toward the target: signed)
    cycles: int | None = None  # more cycles needed at that rate (None: never at it)
    eta: str = ""  # ISO date-time at the mean time between cycles
    met: bool = False
    points: int = 0

    def sentence(self) -> str:
        name = f"{self.metric} {_num(self.current)} → {_num(self.target)}"
        if self.met:
            return f"{name}: met"
        if self.points < 2:
            return f"{name}: no forecast yet (needs two measured cycles)"
        rate = f"{self.per_cycle:+.3g} per cycle"
        if self.cycles is None:
            return f"{name}: not at the current rate ({rate})"
        when = f", about {self.eta[:16]}Z" if self.eta else ""
        return f"{name}: ~{self.cycles} more cycle(s) at {rate}{when}"


def forecast(goal: Goal, history: Iterable[JournalEntry]) -> Forecast | None:
    """The forecast of ``goal.done_when`` from ``history`` (None: not a forecastable form)."""
    match = _FORM.match(goal.done_when or "")
    if match is None:
        return None
    metric, op, raw = match.group(1), match.group(2), float(match.group(3))
    series: list[tuple[datetime, float]] = []
    seen: set[str] = set()
    for entry in sorted(history, key=lambda e: e.started):
        if entry.goal != goal.id:
            continue
        base = entry.data.get("baseline")
        value = _value(base, metric)
        when = _time(entry.started)
        commit = str(base.get("commit") or "") if isinstance(base, Mapping) else ""
        if value is None or when is None or (commit and commit in seen):
            continue
        seen.add(commit)
        series.append((when, value))
    current = series[-1][1] if series else None
    met = current is not None and _holds(current, op, raw)
    result = Forecast(metric=metric, current=current, target=raw, met=met, points=len(series))
    if met or len(series) < 2:
        return result
    (t0, v0), (t1, v1) = series[0], series[-1]
    steps = len(series) - 1
    per_cycle = (v1 - v0) / steps
    remaining = raw - v1
    if op in ("<", ">"):
        remaining += -1e-9 if op == "<" else 1e-9
    if per_cycle == 0 or (remaining > 0) != (per_cycle > 0):
        return Forecast(**{**result.__dict__, "per_cycle": per_cycle})
    cycles = max(1, math.ceil(remaining / per_cycle - 1e-9))
    gap = (t1 - t0) / steps
    eta = (t1 + gap * cycles).isoformat() if gap > timedelta(0) else ""
    return Forecast(**{**result.__dict__, "per_cycle": per_cycle, "cycles": cycles, "eta": eta})


def _value(metrics: Any, path: str) -> float | None:
    value: Any = metrics
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _holds(value: float, op: str, target: float) -> bool:
    return {
        "<=": value <= target,
        ">=": value >= target,
        "==": value == target,
        "<": value < target,
        ">": value > target,
    }[op]


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"
