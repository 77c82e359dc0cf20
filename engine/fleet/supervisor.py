"""``ratchet fleet daemon``: one long-running process that keeps each member's own daemon.

The fleet daemon never runs a cycle itself and never touches a member's repository: each
member is steered by its ordinary daemon (``ratchet start --repo R``: its own lock,
schedule, watcher, decisions and merges, so one writer per repository holds), started and
watched by a :class:`~engine.fleet.keeper.MemberKeeper` thread. This module owns:

- the fleet lock (``fleet.lock``: one fleet daemon per fleet file) and ``fleet.json``;
- signals: SIGTERM/SIGINT stop the fleet (every member's daemon is stopped first, each
  by process group, then the fleet exits 0); SIGHUP reloads the fleet file;
- the fleet file: read again when its content changes (about twice a second): members
  added are started, removed ones stopped, changed ones restarted; an invalid edit is
  reported in ``fleet.json`` and the last good file stays in force;
- the whole fleet's pause, through the keepers (each reads the markers).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType

from engine.daemon.control import now_iso
from engine.daemon.lock import AlreadyRunning, DaemonLock
from engine.daemon.logs import LOGGER, event, setup_logging
from engine.errors import ConfigError
from engine.fleet.file import Fleet, load_fleet
from engine.fleet.keeper import KeeperTiming, MemberKeeper
from engine.fleet.members import Member, resolve_member, resolve_members
from engine.fleet.state import FleetPaths, FleetStatus, is_paused, write_fleet_status

log = logging.getLogger(LOGGER)


class FleetRunning(AlreadyRunning):
    """Another fleet daemon holds this fleet file's lock."""


class FleetDaemon:
    """``run()`` is the whole life of the fleet daemon; call it from the main thread."""

    def __init__(
        self,
        fleet_file: Path,
        *,
        timing: KeeperTiming | None = None,
        poll: float = 0.5,
        log_json: bool = False,
    ) -> None:
        self.fleet_file = fleet_file
        self.timing = timing or KeeperTiming()
        self.poll = poll
        self.log_json = log_json
        self.stopping = threading.Event()
        self.changed = threading.Event()
        self.reload = threading.Event()
        self.keepers: dict[str, MemberKeeper] = {}
        self.status = FleetStatus()
        self._written: FleetStatus | None = None  # the last status on disk (without `updated`)

    def run(self) -> int:
        """Load the fleet file (FleetFileError: exit 7), take the lock (FleetRunning: exit 3),
        keep the members until SIGTERM/SIGINT; return 0."""
        fleet = load_fleet(self.fleet_file)
        paths = FleetPaths(fleet.state_dir)
        lock = DaemonLock(
            paths.lock,
            lambda held: FleetRunning(
                f"a fleet daemon already runs for {fleet.shown} (it holds {held}); "
                "see `ratchet fleet status`, or `ratchet fleet stop` it first"
            ),
        )
        lock.acquire()  # creates the state directory
        try:
            setup_logging(paths.log, json_lines=self.log_json)
            self._install_signals()
            self.status = FleetStatus(
                pid=os.getpid(), started=now_iso(), state="starting", file=str(fleet.file)
            )
            event(log, "fleet starting", file=str(fleet.file), members=len(fleet.entries))
            digest = _digest(fleet.file)
            self._take(fleet, paths)
            while not self.stopping.is_set():
                self._write(paths)
                self.changed.wait(self.poll)
                self.changed.clear()
                now = _digest(fleet.file)
                if self.reload.is_set() or now != digest:
                    self.reload.clear()
                    digest = now
                    fleet = self._reload(fleet, paths)
            return 0
        finally:
            self._shutdown(paths)
            lock.release()

    # ------------------------------------------------------------------ members

    def _take(self, fleet: Fleet, paths: FleetPaths) -> None:
        """Start, stop or restart keepers so that they match ``fleet``."""
        members = {m.name: m for m in resolve_members(fleet)}
        for member in members.values():
            for problem in member.problems:
                event(log, "member skipped", logging.WARNING, member=member.name, problem=problem)
        for name in [n for n, k in self.keepers.items() if _changed(k.member, members.get(n))]:
            gone = self.keepers.pop(name)
            gone.retire()
            gone.join()
            event(log, "member stopped", member=name, why="left or changed in the fleet file")
        for name, member in members.items():
            kept = self.keepers.get(name)
            if kept is not None:
                kept.member = member  # only `paused` or its problems changed
                continue
            keeper = MemberKeeper(
                member,
                paths,
                stopping=self.stopping,
                timing=self.timing,
                recheck=functools.partial(_recheck, fleet),
                on_change=self.changed.set,
            )
            self.keepers[name] = keeper
            keeper.start()
            event(log, "member added", member=name, path=str(member.path))

    def _reload(self, fleet: Fleet, paths: FleetPaths) -> Fleet:
        try:
            new = load_fleet(self.fleet_file)
        except ConfigError as exc:
            event(log, "fleet file invalid: the last good one stays", logging.ERROR, error=str(exc))
            self.status = replace(self.status, fleet_error=str(exc))
            return fleet
        self.status = replace(self.status, fleet_error=None)
        event(log, "fleet file reloaded", members=len(new.entries))
        self._take(new, paths)
        return new

    # ------------------------------------------------------------------ life

    def _install_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()
            self.changed.set()

        def hup(signum: int, frame: FrameType | None) -> None:
            self.reload.set()
            self.changed.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    def _shutdown(self, paths: FleetPaths) -> None:
        self.stopping.set()
        self.status = replace(self.status, state="stopping")
        self._write(paths)
        event(log, "fleet stopping", members=len(self.keepers))
        for keeper in self.keepers.values():
            keeper.join()
        self.status = replace(self.status, state="stopped")
        self._write(paths)
        event(log, "fleet stopped")

    def _write(self, paths: FleetPaths) -> None:
        state = self.status.state
        if state not in ("stopping", "stopped"):
            state = "paused" if is_paused(paths) else "running"
        members = tuple(k.status for k in self.keepers.values())
        self.status = replace(self.status, state=state, members=members)
        if self.status != self._written:
            with contextlib.suppress(OSError):
                write_fleet_status(paths, replace(self.status, updated=now_iso()))
                self._written = self.status


def _changed(old: Member, new: Member | None) -> bool:
    """The member left the file, or its daemon must restart (another path or executor)."""
    return new is None or new.path != old.path or new.executor != old.executor


def _recheck(fleet: Fleet, member: Member) -> Member:
    entry = fleet.entry(member.name)
    return member if entry is None else resolve_member(fleet, entry)


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"
