"""``.ratchet/daemon.json``: the daemon's own account of itself, read by ``ratchet status``.

Written atomically (temp file + rename) so a reader never sees half a file. Whether the daemon
is *running* is not in here: that is decided by the lock (see :mod:`engine.daemon.lock`); a
file left by a killed daemon only tells what it was doing when it died.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

State = Literal["starting", "idle", "running", "paused", "stopping", "stopped"]
MAX_OUTCOMES = 20


@dataclass(frozen=True, kw_only=True)
class CycleInfo:
    """The cycle in flight."""

    reason: str  # "schedule:cron:0 2 * * *", "interval", "goals.yaml edit", "catch-up", ...
    started: str
    pid: int = 0  # the child's pid (and process group)
    goal: str | None = None
    step: str = "starting"
    runtime: str | None = None  # self-hosting: the revision the child runs from


@dataclass(frozen=True, kw_only=True)
class OutcomeInfo:
    """One finished cycle, as the daemon saw it."""

    finished: str
    outcome: str  # the run-once outcome, or "crashed" / "timeout" / "interrupted"
    goal: str | None = None
    cycle_id: str | None = None
    branch: str | None = None
    commit: str | None = None
    seconds: float = 0.0
    reason: str = ""
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class Spend:
    date: str = ""
    usd: float = 0.0
    tokens: int = 0
    cycles: int = 0


@dataclass(frozen=True, kw_only=True)
class DaemonStatus:
    pid: int = 0
    started: str = ""
    updated: str = ""
    state: State = "stopped"
    paused: bool = False
    cycle: CycleInfo | None = None
    next_run: str | None = None
    last_outcomes: tuple[OutcomeInfo, ...] = ()
    config_error: str | None = None
    config_fingerprint: str = ""
    goals: tuple[str, ...] = ()  # "id (status)" of the configuration in force
    self_hosting: bool = False
    known_good: str | None = None
    runtime: str | None = None  # revision cycles run from (pin, else known-good)
    pinned: str | None = None
    spend_today: Spend = field(default_factory=Spend)
    review_branches: tuple[str, ...] = ()
    human_branches: tuple[str, ...] = ()  # ratchet/* branches a human committed to: untouched
    waiting: str | None = None  # why no cycle starts now (e.g. review-branch limit)
    notes: tuple[str, ...] = ()  # recent notable events: reconcile, promotion, rollback

    def with_outcome(self, outcome: OutcomeInfo) -> DaemonStatus:
        return dataclasses.replace(
            self, last_outcomes=(outcome, *self.last_outcomes)[:MAX_OUTCOMES]
        )

    def with_spend(self, usage: dict[str, Any], today: str) -> DaemonStatus:
        """Add one cycle's ``usage`` (run-once's report) to today's spend (``today``: ISO
        date; a new day starts from zero)."""
        spend = self.spend_today if self.spend_today.date == today else Spend(date=today)
        tokens = int(usage.get("tokens_in") or 0) + int(usage.get("tokens_out") or 0)
        return dataclasses.replace(
            self,
            spend_today=Spend(
                date=today,
                usd=round(spend.usd + float(usage.get("cost_usd") or 0.0), 6),
                tokens=spend.tokens + tokens,
                cycles=spend.cycles + 1,
            ),
        )

    def with_note(self, note: str) -> DaemonStatus:
        return dataclasses.replace(self, notes=(note, *self.notes)[:MAX_OUTCOMES])

    def config_lines(self) -> list[str]:
        """What ``ratchet status`` says about the configuration. "ok" only for one that was
        read and loaded (its fingerprint is set only then); an error with no configuration
        loaded yet says the daemon waits for a valid one."""
        if self.config_error:
            kept = (
                "the last good one stays in force"
                if self.config_fingerprint
                else "no valid configuration yet: waiting for one"
            )
            return [f"INVALID ({kept})", *self.config_error.splitlines()]
        if not self.config_fingerprint:
            return ["not loaded yet"]
        return [f"ok ({', '.join(self.goals) or 'no goals'})"]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DaemonStatus:
        """Tolerant: unknown keys are dropped, missing ones take defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("cycle"), dict):
            values["cycle"] = _build(CycleInfo, values["cycle"])
        values["last_outcomes"] = tuple(
            _build(OutcomeInfo, o) for o in values.get("last_outcomes", ()) if isinstance(o, dict)
        )
        if isinstance(values.get("spend_today"), dict):
            values["spend_today"] = _build(Spend, values["spend_today"])
        for key in ("goals", "review_branches", "human_branches", "notes"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


def _build(cls: Any, data: dict[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


def read_status(path: Path) -> DaemonStatus | None:
    """The last status written, or None when there is none (or it is unreadable)."""
    try:
        return DaemonStatus.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_status(path: Path, status: DaemonStatus) -> None:
    write_json_atomic(path, status.to_json())


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
