"""The fleet's own state, next to its file: ``<dir>/.ratchet-fleet/<file stem>/``.

::

    fleet.lock          held by the fleet daemon (an flock: one daemon per fleet file)
    fleet.json          its status: pid, state, each member's daemon and restarts
    fleet.log           its log
    control/paused      the whole fleet is paused (`ratchet fleet pause`)
    control/paused.NAME one member is paused (`ratchet fleet pause NAME`)
    logs/NAME.out|.err  the stdout/stderr of a member's daemon (or run-once) child

Pauses are files, as for one repository's daemon: they hold while no fleet daemon runs,
and a fleet started later starts paused. Nothing here is in a member's repository.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.daemon.control import StopResult, now_iso, stop_lock_holder
from engine.daemon.status import read_json, write_json_atomic


@dataclass(frozen=True)
class FleetPaths:
    state: Path

    @property
    def lock(self) -> Path:
        return self.state / "fleet.lock"

    @property
    def status(self) -> Path:
        return self.state / "fleet.json"

    @property
    def log(self) -> Path:
        return self.state / "fleet.log"

    @property
    def control(self) -> Path:
        return self.state / "control"

    def paused_marker(self, name: str | None = None) -> Path:
        """The whole fleet's pause marker (``name`` None) or one member's."""
        return self.control / ("paused" if name is None else f"paused.{name}")

    def output(self, name: str, kind: str = "daemon") -> Path:
        """Where a member's child writes (``.out``/``.err`` are added)."""
        return self.state / "logs" / f"{name}.{kind}"


def pause(paths: FleetPaths, name: str | None = None) -> None:
    paths.control.mkdir(parents=True, exist_ok=True)
    paths.paused_marker(name).write_text(f"paused {now_iso()}\n", encoding="utf-8")


def resume(paths: FleetPaths, name: str | None = None) -> None:
    paths.paused_marker(name).unlink(missing_ok=True)


def is_paused(paths: FleetPaths, name: str | None = None) -> bool:
    return paths.paused_marker(name).exists()


@dataclass(frozen=True, kw_only=True)
class MemberStatus:
    """What the fleet daemon knows of one member's daemon child."""

    name: str
    path: str
    state: str = "starting"  # running | paused | skipped | restarting | busy | stopped
    pid: int = 0  # the member daemon's pid (its process group) while it runs
    since: str = ""
    restarts: int = 0
    last_exit: int | None = None
    message: str = ""  # why it is paused, skipped, restarting or busy


@dataclass(frozen=True, kw_only=True)
class FleetStatus:
    pid: int = 0
    started: str = ""
    updated: str = ""
    state: str = "stopped"  # starting | running | paused | stopping | stopped
    file: str = ""
    fleet_error: str | None = None  # the edited fleet file is invalid: the last good rules
    members: tuple[MemberStatus, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> FleetStatus | None:
        if not isinstance(data, dict):
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        raw = known.pop("members", ())
        fields = MemberStatus.__dataclass_fields__
        members = tuple(
            MemberStatus(**{k: v for k, v in m.items() if k in fields})
            for m in raw
            if isinstance(m, dict) and "name" in m and "path" in m
        )
        try:
            return cls(**known, members=members)
        except TypeError:
            return None


def write_fleet_status(paths: FleetPaths, status: FleetStatus) -> None:
    write_json_atomic(paths.status, status.to_json())


def read_fleet_status(paths: FleetPaths) -> FleetStatus | None:
    return FleetStatus.from_json(read_json(paths.status, None))


def stop_fleet(paths: FleetPaths, timeout: float = 180.0) -> StopResult:
    """SIGTERM the fleet daemon holding the lock; wait until the lock is free (its
    members' daemons stopped first: the fleet daemon stops them before it exits)."""

    def pid() -> int:
        status = read_fleet_status(paths)
        return status.pid if status is not None else 0

    return stop_lock_holder(paths.lock, pid, timeout)
