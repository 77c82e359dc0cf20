"""One member's keeper: a thread that keeps that member's own daemon running.

The member's daemon is the ordinary ``ratchet start --repo R`` (:mod:`engine.daemon.loop`)
in a child process (:func:`engine.daemon.child.run_child`: its own process group, it dies
with the fleet, stragglers killed after it). The keeper:

- starts it unless the member is skipped (its problems) or paused (the fleet file, the
  whole fleet, or the member: :mod:`engine.fleet.state`);
- stops it (SIGTERM to its group, a grace for its cycle to unwind, then SIGKILL) when
  the member is paused, retired (gone from the fleet file, or changed) or the fleet stops;
- restarts it when it exits on its own, after a backoff that doubles per crash in a row
  (``backoff`` seconds up to ``max_backoff``; a daemon that ran ``stable`` seconds starts
  the count again). Exit 3 means someone else's daemon holds the member's lock: the
  keeper waits ``max_backoff`` and tries again, never a second writer.

A skipped member is checked again when its files change (:func:`config_fingerprint`),
so a fix is picked up without a restart of the fleet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from engine.cli.exits import EXIT_LOCKED
from engine.daemon.child import run_child
from engine.daemon.control import now_iso
from engine.daemon.logs import LOGGER, event
from engine.fleet.launch import DAEMON_GRACE, daemon_spec
from engine.fleet.members import Member
from engine.fleet.state import FleetPaths, MemberStatus, is_paused

log = logging.getLogger(LOGGER)


@dataclass(frozen=True, kw_only=True)
class KeeperTiming:
    backoff: float = 1.0
    max_backoff: float = 60.0
    stable: float = 120.0  # a daemon up this long resets the crash count
    grace: float = DAEMON_GRACE
    poll: float = 0.25  # how often a paused/skipped/waiting keeper looks again


class MemberKeeper:
    """Call :meth:`start` once, :meth:`retire` to end it; :attr:`status` from any thread."""

    def __init__(
        self,
        member: Member,
        paths: FleetPaths,
        *,
        stopping: threading.Event,
        timing: KeeperTiming | None = None,
        recheck: Callable[[Member], Member] | None = None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.member = member
        self.paths = paths
        self.stopping = stopping
        self.timing = timing or KeeperTiming()
        self.recheck = recheck  # re-resolve a skipped member (None: never)
        self.on_change = on_change
        self.retired = threading.Event()
        self.status = MemberStatus(name=member.name, path=str(member.path), since=now_iso())
        self._thread = threading.Thread(target=self._run, name=f"fleet-{member.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def retire(self) -> None:
        self.retired.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ the thread

    def _set(self, **changes: object) -> None:
        new = replace(self.status, **changes)  # type: ignore[arg-type]
        if new == self.status:
            return
        if new.state != self.status.state:
            new = replace(new, since=now_iso())
            level = logging.WARNING if new.state in ("restarting", "busy") else logging.INFO
            event(log, f"member {new.state}", level, member=new.name, pid=new.pid, why=new.message)
        self.status = new
        self.on_change()

    def _why_not(self) -> str | None:
        member = self.member
        if is_paused(self.paths):
            return "the fleet is paused (`ratchet fleet resume`)"
        if member.paused:
            return "paused in the fleet file"
        if is_paused(self.paths, member.name):
            return f"paused (`ratchet fleet resume {member.name}`)"
        return None

    def _ended(self) -> bool:
        return self.stopping.is_set() or self.retired.is_set()

    def _should_stop(self) -> str | None:
        if self.stopping.is_set():
            return "the fleet is stopping"
        if self.retired.is_set():
            return "the member left the fleet file or changed"
        return self._why_not()

    def _run(self) -> None:
        crashes = 0
        fingerprint: str | None = None
        while not self._ended():
            if not self.member.usable:
                fingerprint = self._skipped(fingerprint)
                continue
            why = self._why_not()
            if why is not None:
                self._set(state="paused", pid=0, message=why)
                self._sleep(self.timing.poll)
                continue
            started = time.monotonic()
            self._set(state="starting", message="")
            result = run_child(
                daemon_spec(
                    self.member,
                    self.paths.state,
                    self.paths.output(self.member.name),
                    grace=self.timing.grace,
                ),
                should_stop=self._should_stop,
                on_start=lambda pid: self._set(state="running", pid=pid),
            )
            if result.interrupted is not None:
                self._set(state="stopped", pid=0, last_exit=result.returncode)
                continue  # paused, retired or stopping: the loop sees which
            crashes = 0 if time.monotonic() - started >= self.timing.stable else crashes + 1
            tail = (result.stderr.strip() or result.error).splitlines()[-1:] or [""]
            if result.returncode == EXIT_LOCKED:
                delay = self.timing.max_backoff
                self._set(
                    state="busy",
                    pid=0,
                    last_exit=result.returncode,
                    message="another ratchet daemon holds this repository's lock; "
                    f"trying again in {delay:g}s",
                )
            else:
                delay = min(self.timing.max_backoff, self.timing.backoff * 2 ** (crashes - 1))
                self._set(
                    state="restarting",
                    pid=0,
                    restarts=self.status.restarts + 1,
                    last_exit=result.returncode,
                    message=f"its daemon exited ({result.returncode}): {tail[0][-200:]}; "
                    f"restarting in {delay:g}s",
                )
            self._sleep(delay)
        self._set(state="stopped", pid=0)

    def _skipped(self, fingerprint: str | None) -> str | None:
        """Show the member skipped; look again when its files change."""
        self._set(state="skipped", pid=0, message="; ".join(self.member.problems))
        self._sleep(self.timing.poll * 20)
        if self.recheck is None or self._ended():
            return fingerprint
        now = _fingerprint(self.member)
        if now != fingerprint and fingerprint is not None:
            self.member = self.recheck(self.member)
        return now

    def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the fleet stops, the member retires or its
        pause changes."""
        deadline = time.monotonic() + seconds
        paused = self._why_not()
        while not self._ended() and time.monotonic() < deadline:
            if self._why_not() != paused:
                return
            time.sleep(min(self.timing.poll, max(0.0, deadline - time.monotonic())))


def _fingerprint(member: Member) -> str:
    """The member's configuration as it is on disk now (or that its path is unusable)."""
    from engine.config import config_fingerprint

    if not member.path.is_dir():
        return "missing"
    return config_fingerprint(member.path)
