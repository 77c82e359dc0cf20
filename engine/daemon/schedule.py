"""When cycles start on their own: ``directives.schedule`` on APScheduler 3.x.

Jobs do no work: each fire calls ``on_fire(reason)``, which only queues a cycle request; the
daemon's main loop runs cycles one at a time. So ``max_instances`` never binds and two cycles
can never overlap, however the schedule is written.

APScheduler 3.x drops a run that is more than ``misfire_grace_time`` late (default: one
second); we use hours and ``coalesce`` so a late backlog becomes one run. Runs missed while
the daemon was *down* are not APScheduler's business (its in-memory jobs die with us): we keep
our own "last fired" timestamps in ``.ratchet/daemon-schedule.json`` and, on start, catch up
once per schedule entry whose next fire after its last one is already past.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine.daemon.status import read_json, write_json_atomic
from engine.model import AuditSchedule, Schedule

MISFIRE_GRACE = 6 * 3600  # seconds a fire may be late (suspend, a long cycle) and still run


@dataclass(frozen=True)
class Entry:
    """One schedule entry: a cron expression in a timezone, or the interval."""

    key: str  # "cron:0 2 * * *@Europe/Paris" or "interval:30"
    cron: str | None = None
    timezone: str = "UTC"
    minutes: float | None = None

    @property
    def reason(self) -> str:
        return f"schedule {self.key}"


AUDIT_KEY = "audit-cron:"  # the key prefix of ``directives.audit`` entries
AUDIT_REASON = f"schedule {AUDIT_KEY}"  # a queued reason that runs `ratchet audit`


def entries(schedule: Schedule, audit: AuditSchedule | None = None) -> tuple[Entry, ...]:
    """The cycle schedule's entries, then ``directives.audit``'s (keys ``audit-cron:...``)."""
    out = [
        Entry(f"cron:{c}@{schedule.timezone}", cron=c, timezone=schedule.timezone)
        for c in schedule.cron
    ]
    if schedule.interval_minutes:
        out.append(
            Entry(f"interval:{schedule.interval_minutes:g}", minutes=schedule.interval_minutes)
        )
    if audit is not None:
        out += [
            Entry(f"{AUDIT_KEY}{c}@{audit.timezone}", cron=c, timezone=audit.timezone)
            for c in audit.cron
        ]
    return tuple(out)


def _trigger(entry: Entry) -> Any:
    # APScheduler is imported here, not at module level: `ratchet --help` must stay fast.
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if entry.cron is not None:
        return CronTrigger.from_crontab(entry.cron, timezone=ZoneInfo(entry.timezone))
    assert entry.minutes is not None
    return IntervalTrigger(seconds=entry.minutes * 60.0, timezone=UTC)


def next_fire_after(entry: Entry, after: datetime) -> datetime | None:
    """The entry's first fire time strictly after ``after`` (aware datetimes)."""
    if entry.minutes is not None:
        return after + timedelta(minutes=entry.minutes)
    trigger = _trigger(entry)
    fire: datetime | None = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    return fire


def missed(entry: Entry, last: datetime | None, now: datetime) -> datetime | None:
    """The fire time that passed unseen since ``last`` (the earliest), or None. An entry that
    never fired (no ``last``) has missed nothing: a fresh install does not run at once."""
    if last is None:
        return None
    fire = next_fire_after(entry, last)
    return fire if fire is not None and fire <= now else None


class LastRuns:
    """``{entry key: ISO time it last fired}`` on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, datetime]:
        raw = read_json(self.path, {})
        out: dict[str, datetime] = {}
        if isinstance(raw, dict):
            for key, value in raw.items():
                try:
                    out[str(key)] = datetime.fromisoformat(str(value))
                except ValueError:
                    continue
        return out

    def record(self, key: str, when: datetime) -> None:
        data = {k: v.isoformat() for k, v in self.load().items()}
        data[key] = when.isoformat()
        write_json_atomic(self.path, data)


class CycleScheduler:
    """APScheduler jobs for the current ``Schedule``; ``apply`` replaces them on config edits."""

    def __init__(
        self,
        on_fire: Callable[[str], None],
        last_runs: LastRuns,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.on_fire = on_fire
        self.last_runs = last_runs
        self.clock = clock
        self._scheduler: Any = None
        self._entries: tuple[Entry, ...] = ()
        self._lock = threading.Lock()

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE,
            },
        )
        self._scheduler.start()

    def apply(
        self, schedule: Schedule, *, catch_up: bool = False, audit: AuditSchedule | None = None
    ) -> list[str]:
        """Replace the jobs by ``schedule``'s entries. With ``catch_up`` (on start), return the
        reasons of entries that missed a fire while the daemon was down (at most one each).
        Entries seen for the first time get "now" as their last fire."""
        with self._lock:
            new = entries(schedule, audit)
            if new == self._entries:
                return []
            now = self.clock()
            last = self.last_runs.load()
            due: list[str] = []
            for entry in new:
                if entry.key not in last:
                    self.last_runs.record(entry.key, now)
                elif catch_up and (when := missed(entry, last[entry.key], now)) is not None:
                    due.append(f"catch-up {entry.key} (missed {when.isoformat()})")
            if self._scheduler is not None:
                self._scheduler.remove_all_jobs()
                for entry in new:
                    self._scheduler.add_job(
                        self._fire,
                        _trigger(entry),
                        args=[entry],
                        id=entry.key,
                        replace_existing=True,
                    )
            self._entries = new
            return due

    def _fire(self, entry: Entry) -> None:
        self.last_runs.record(entry.key, self.clock())
        self.on_fire(entry.reason)

    def next_run(self) -> datetime | None:
        if self._scheduler is None:
            return None
        times = [job.next_run_time for job in self._scheduler.get_jobs() if job.next_run_time]
        return min(times) if times else None

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
