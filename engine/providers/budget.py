"""Spend: prices, the JSONL spend ledger, and the caps of ``directives.budgets``.

Every model call (paid, failed or answered from the cache) appends one line to
``<state_dir>/spend/<YYYY-MM-DD>.jsonl`` (UTC day): time, cycle id, goal, attempt,
provider, model, tokens in/out, tokens the server took from its prefix cache, estimated
USD, cached, ok, seconds, answer tokens per second. Per-cycle, per-goal and per-day
totals are sums over those lines (:meth:`SpendLedger.totals`). Cached calls cost nothing
and do not count against caps.

:func:`check_budget` runs *before* a call: it raises :class:`~engine.errors.BudgetExceeded`
when the tokens (or USD) already spent in this cycle or today, plus this prompt's
estimate, would pass a cap. The answer's own tokens are not known beforehand, so one call
can overshoot a cap by at most its ``max_output_tokens``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import BudgetExceeded
from engine.model import Budgets, Usage
from engine.providers.options import number
from engine.records.layout import spend_dir

# USD per million tokens (input, output): public list prices, mid-2025. A model not listed
# costs 0 unless options.price_in_per_mtok / price_out_per_mtok say otherwise. Longest
# prefix wins, so "gemini-2.5-flash-lite-preview" finds "gemini-2.5-flash-lite".
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gemini-2.5-pro": (1.25, 10.0),
    "gemini-2.5-flash": (0.30, 2.50),
    "gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-2.0-flash-lite": (0.075, 0.30),
    "gpt-4o": (2.50, 10.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


@dataclass(frozen=True, kw_only=True)
class Price:
    """USD per million input / output tokens."""

    per_mtok_in: float = 0.0
    per_mtok_out: float = 0.0

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.per_mtok_in + tokens_out * self.per_mtok_out) / 1_000_000

    @classmethod
    def for_model(cls, model: str, options: Mapping[str, Any]) -> Price:
        """Options ``price_in_per_mtok`` / ``price_out_per_mtok`` win over the table."""
        known = (0.0, 0.0)
        for prefix in sorted(PRICES_PER_MTOK, key=len, reverse=True):
            if model.split("/")[-1].startswith(prefix):
                known = PRICES_PER_MTOK[prefix]
                break
        return cls(
            per_mtok_in=number(
                options, "price_in_per_mtok", known[0], kind=float, minimum=0, maximum=10_000
            ),
            per_mtok_out=number(
                options, "price_out_per_mtok", known[1], kind=float, minimum=0, maximum=10_000
            ),
        )


@dataclass(frozen=True, kw_only=True)
class SpendEntry:
    """One line of the ledger: one model call."""

    ts: float
    day: str  # UTC date, YYYY-MM-DD
    cycle: str
    goal: str
    attempt: int
    provider: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    ok: bool = True
    seconds: float = 0.0
    tokens_cached: int = 0  # of tokens_in, served from the server's prefix cache
    tokens_per_s: float = 0.0  # answer tokens per second of this call (0: unknown)


def utc_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


class SpendLedger:
    """Append-only JSONL files under ``<state_dir>/spend/``; in memory without a state dir."""

    def __init__(self, state_dir: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        self.root = spend_dir(state_dir) if state_dir is not None else None
        self.clock = clock
        self._memory: list[SpendEntry] = []

    def record(self, entry: SpendEntry) -> None:
        if self.root is None:
            self._memory.append(entry)
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / f"{entry.day}.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(entry), sort_keys=True) + "\n")

    def entries(self, day: str) -> list[SpendEntry]:
        """The calls recorded on ``day`` (unreadable lines are skipped)."""
        if self.root is None:
            return [e for e in self._memory if e.day == day]
        path = self.root / f"{day}.jsonl"
        if not path.exists():
            return []
        out: list[SpendEntry] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(SpendEntry(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a torn last line after a crash must not stop the daemon
        return out

    def totals(
        self, *, day: str | None = None, cycle: str | None = None, goal: str | None = None
    ) -> Usage:
        """Summed usage of the matching calls. ``day`` defaults to today; a cycle is looked
        up in today's and yesterday's files (a cycle may straddle midnight)."""
        today = utc_day(self.clock())
        if cycle is not None and day is None:
            yesterday = utc_day(self.clock() - 86400)
            days = [yesterday, today] if yesterday != today else [today]
        else:
            days = [day or today]
        selected = [
            e
            for d in days
            for e in self.entries(d)
            if (cycle is None or e.cycle == cycle) and (goal is None or e.goal == goal)
        ]
        paid = [e for e in selected if not e.cached]
        return Usage(
            tokens_in=sum(e.tokens_in for e in paid),
            tokens_out=sum(e.tokens_out for e in paid),
            tokens_cached=sum(e.tokens_cached for e in paid),
            cost_usd=round(sum(e.cost_usd for e in paid), 6),
            calls=len(selected),
            cached=len(selected) - len(paid),
            seconds=round(sum(e.seconds for e in selected), 3),
        )

    def last_cycle(self, goal: str) -> str | None:
        """The cycle id of the latest call for ``goal`` today, if any."""
        for entry in reversed(self.entries(utc_day(self.clock()))):
            if entry.goal == goal:
                return entry.cycle
        return None

    def new_cycle_id(self, goal: str) -> str:
        stamp = datetime.fromtimestamp(self.clock(), UTC)
        return f"{goal}@{stamp.strftime('%Y%m%dT%H%M%S.%fZ')}"


def check_budget(
    budgets: Budgets,
    ledger: SpendLedger,
    *,
    cycle: str,
    tokens_estimate: int,
    cost_estimate: float,
) -> None:
    """Raise BudgetExceeded when this call would pass a per-cycle or per-day cap."""
    caps: list[tuple[str, Usage, int | None, float | None]] = []
    if budgets.tokens_per_cycle is not None or budgets.usd_per_cycle is not None:
        caps.append(
            ("cycle", ledger.totals(cycle=cycle), budgets.tokens_per_cycle, budgets.usd_per_cycle)
        )
    if budgets.tokens_per_day is not None or budgets.usd_per_day is not None:
        caps.append(("day", ledger.totals(), budgets.tokens_per_day, budgets.usd_per_day))
    for scope, spent, token_cap, usd_cap in caps:
        tokens = spent.tokens_in + spent.tokens_out
        if token_cap is not None and tokens + tokens_estimate > token_cap:
            raise BudgetExceeded(
                f"token budget per {scope} reached: {tokens} spent + ~{tokens_estimate} for "
                f"this call > {token_cap} (directives.yaml budgets.tokens_per_{scope})"
            )
        if usd_cap is not None and spent.cost_usd + cost_estimate > usd_cap:
            raise BudgetExceeded(
                f"USD budget per {scope} reached: ${spent.cost_usd:.4f} spent + "
                f"~${cost_estimate:.4f} for this call > ${usd_cap:.4f} "
                f"(directives.yaml budgets.usd_per_{scope})"
            )
