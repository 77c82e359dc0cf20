"""The daemon's loop: one per repository, events in, one cycle at a time.

Threads: the main thread owns all state and runs every child process (cycles, canaries) and
every git operation. Signal handlers, the scheduler's and the watcher's threads only post
events to the :class:`~engine.daemon.inbox.Inbox`; the main thread drains it between cycles
and about ten times a second during one. So no lock is ever held across work, and two cycles
can never overlap.

The loop's own state is one frozen :class:`LoopState` (phase, why it stops, queued cycle
requests, the target tip last seen); what it shows the world is the
:class:`~engine.daemon.board.StatusBoard`'s. The parts it drives: the
:class:`~engine.daemon.configuration.ConfigKeeper` (last good configuration), the
:class:`~engine.daemon.supervisor.CycleSupervisor` and the
:class:`~engine.daemon.selfhosting.SelfHostingSupervisor`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
from types import FrameType
from typing import TYPE_CHECKING

from engine.daemon import control
from engine.daemon import inbox as events
from engine.daemon.board import StatusBoard, now_iso
from engine.daemon.configuration import ConfigKeeper, Reload, log_invalid
from engine.daemon.hygiene import end_orphan, reconcile_and_report, review_limit_reached
from engine.daemon.lock import DaemonLock
from engine.daemon.logs import LOGGER, event, setup_logging
from engine.daemon.notify import SystemdNotifier
from engine.daemon.paths import StatePaths
from engine.daemon.selfhosting import SelfHostingSupervisor, UpdateCheck
from engine.daemon.state import DaemonOptions, LoopState, Phase, why_stop
from engine.daemon.status import Spend, read_status
from engine.daemon.supervisor import CycleLimits, CycleSupervisor, Runtime
from engine.model import Identity
from engine.vcs.refs import branch_ref

if TYPE_CHECKING:
    from engine.daemon.schedule import CycleScheduler
    from engine.daemon.watcher import ConfigWatcher
    from engine.vcs import Repository

log = logging.getLogger(LOGGER)


class Daemon:
    """``run()`` is the whole life of the daemon; call it from the main thread."""

    def __init__(self, options: DaemonOptions) -> None:
        self.options = options
        self.paths = StatePaths(options.repo)
        self.board = StatusBoard(self.paths.status)
        self.keeper = ConfigKeeper(self.paths.repo)
        self.inbox = events.Inbox()
        self.state = LoopState()
        self.notifier = SystemdNotifier()
        self.repo: Repository | None = None
        self.selfhosting: SelfHostingSupervisor | None = None
        self.scheduler: CycleScheduler | None = None
        self.watcher: ConfigWatcher | None = None

    # ------------------------------------------------------------------ life

    def run(self) -> int:
        """Take the lock (``AlreadyRunning`` if another daemon has it), serve until SIGTERM
        or SIGINT, return the exit code (0)."""
        self.paths = StatePaths.for_repo(self.options.repo)
        self.board = StatusBoard(self.paths.status)
        self.keeper = ConfigKeeper(self.paths.repo)
        lock = DaemonLock(self.paths.lock)
        lock.acquire()
        try:
            setup_logging(self.paths.log, json_lines=self.options.log_json)
            self._install_signals()
            self._startup()
            while self.state.stop is None:
                self._apply(self.inbox.wait(self.options.idle_tick))
                if self.state.stop is None:
                    self._serve()
            return 0
        finally:
            self._shutdown(lock)

    def _startup(self) -> None:
        from engine.vcs import Repository

        previous = read_status(self.paths.status)
        self.board.set(
            pid=os.getpid(),
            started=now_iso(),
            state="starting",
            cycle=None,
            last_outcomes=previous.last_outcomes if previous else (),
            spend_today=previous.spend_today if previous else Spend(),
            notes=previous.notes if previous else (),
        )
        event(log, "daemon starting", repo=str(self.paths.repo), pid=os.getpid())
        self.repo = Repository.open(self.paths.repo)
        if previous is not None and previous.cycle is not None:
            end_orphan(previous.cycle, self.paths, grace=self.options.grace)
        self._reload(force=True)
        reconcile_and_report(
            self.repo,
            self.paths,
            self.board,
            self._identity(),
            fsck=self.options.fsck_on_start,
            why="start",
        )
        self.selfhosting = SelfHostingSupervisor.start(
            self.repo,
            self.paths,
            self.board,
            target=self._target(),
            rollback_after=self.options.rollback_after,
        )
        self._start_scheduler()
        self._start_watcher()
        self._read_control()
        self._show_next_run()  # in the "daemon ready" line and the first status already
        self.state = dataclasses.replace(self.state, phase=Phase.IDLE)
        # the line goes out before the status says ready: whoever sees the one finds the other
        event(
            log,
            "daemon ready",
            paused=self.board.status.paused,
            next_run=self.board.status.next_run,
        )
        self.board.settle()
        self.notifier.ready(self.board.summary())

    def _shutdown(self, lock: DaemonLock) -> None:
        self.notifier.stopping()
        if self.watcher is not None:
            self.watcher.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if lock.held:
            self.board.set(state="stopped", cycle=None, next_run=None)
            event(log, "daemon stopped", reason=self.state.stop or "error")
            lock.release()

    def _install_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.inbox.post(events.StopRequested(signal.Signals(signum).name))

        def hup(signum: int, frame: FrameType | None) -> None:
            self.inbox.post(events.ReloadRequested())

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    # ------------------------------------------------------------------ events

    def request_cycle(self, reason: str, *, scheduled: bool = False) -> None:
        """Queue a cycle (any thread)."""
        self.inbox.post(events.CycleRequested(reason, scheduled))

    def _apply(self, batch: events.Batch) -> None:
        """Act on what arrived (main thread only), whether or not a cycle runs."""
        running = self.state.phase is Phase.CYCLE
        if batch.stop is not None and self.state.stop is None:
            self.state = dataclasses.replace(self.state, stop=batch.stop)
        if batch.reload:
            self.notifier.reloading()
            event(log, "SIGHUP: reloading configuration")
            self._reload(force=True)
            self._read_control()
            self.notifier.ready(self.board.summary())
        if batch.config:
            self._reload(force=False)
        if batch.control or not running:
            self._read_control()
        for request in batch.requests:
            if request.scheduled and running:
                event(log, "schedule fired during a cycle: skipped", reason=request.reason)
            else:
                self._queue(request.reason)
        if not running:
            self._watch_target()
        self._show_next_run()

    def _show_next_run(self) -> None:
        if self.scheduler is not None:
            nxt = self.scheduler.next_run()
            next_run = nxt.isoformat(timespec="seconds") if nxt else None
            if next_run != self.board.status.next_run:
                self.board.set(next_run=next_run)

    def _queue(self, reason: str) -> None:
        self.state = dataclasses.replace(self.state, pending=(*self.state.pending, reason))

    def _watch_target(self) -> None:
        """``on_change: run`` also means: a cycle when someone else moves the target."""
        config = self.keeper.config
        if self.repo is None or config is None:
            return
        target = self._target()
        tip = self.repo.rev_parse(branch_ref(target)) if target else None
        seen = self.state.seen_tip
        self.state = dataclasses.replace(self.state, seen_tip=tip)
        if seen is not None and tip != seen and config.directives.schedule.on_change == "run":
            self._queue(f"target {target} moved to {str(tip)[:12]} (on_change: run)")

    def _read_control(self) -> None:
        status = self.board.status
        paused, pinned = control.is_paused(self.paths), control.read_pin(self.paths)
        if paused != status.paused:
            event(log, "paused" if paused else "resumed")
            state = status.state
            if self.state.phase is not Phase.CYCLE and state in ("idle", "paused"):
                state = "paused" if paused else "idle"
            self.board.set(paused=paused, state=state)
            self.notifier.status(self.board.summary())
        if pinned != status.pinned:
            event(log, "pinned" if pinned else "unpinned", revision=pinned)
            self.board.set(pinned=pinned)

    # ------------------------------------------------------------------ configuration

    def _reload(self, *, force: bool) -> None:
        """Reload when the files' content changed (or ``force``). An invalid configuration
        is reported (status and log, with positions) and the last good one stays in force."""
        result = self.keeper.reload(force=force)
        if result.kind == "invalid":
            self._report_invalid(result)
        elif result.kind == "loaded":
            self._take(result)

    def _report_invalid(self, result: Reload) -> None:
        log_invalid(result)
        self.board.set(config_error=result.error or "configuration invalid")

    def _take(self, result: Reload) -> None:
        config = result.config
        assert config is not None
        self.board.set(
            config_error=None,
            config_fingerprint=result.digest,
            goals=tuple(f"{g.id} ({g.status})" for g in config.goals),
        )
        event(
            log,
            "configuration loaded",
            goals=len(config.goals),
            rules=len(config.rules),
            fingerprint=result.digest[:12],
        )
        self._apply_schedule(catch_up=result.previous is None)
        old = result.previous
        if old is not None and old != config and config.directives.schedule.on_change == "run":
            self._queue("configuration edited (on_change: run)")

    def _start_scheduler(self) -> None:
        from engine.daemon.schedule import CycleScheduler, LastRuns

        def fired(reason: str) -> None:
            self.request_cycle(reason, scheduled=True)

        self.scheduler = CycleScheduler(fired, LastRuns(self.paths.last_runs))
        self.scheduler.start()
        self._apply_schedule(catch_up=True)

    def _apply_schedule(self, *, catch_up: bool) -> None:
        config = self.keeper.config
        if self.scheduler is None or config is None:
            return
        try:
            due = self.scheduler.apply(
                config.directives.schedule, catch_up=catch_up, audit=config.directives.audit
            )
        except (ValueError, LookupError) as exc:  # a cron/timezone the loader let through
            event(log, "schedule not applied", logging.ERROR, error=str(exc))
            return
        if due:
            event(log, "catching up a run missed while down", missed=due)
            self._queue(due[0])

    def _start_watcher(self) -> None:
        from engine.daemon.watcher import ConfigWatcher

        self.watcher = ConfigWatcher(
            self.paths.repo,
            self.paths.control,
            lambda: self.inbox.post(events.ConfigEdited()),
            lambda: self.inbox.post(events.ControlEdited()),
            debounce=self.options.debounce,
        )
        self.watcher.start()

    # ------------------------------------------------------------------ cycles

    def _serve(self) -> None:
        reasons = self.state.pending
        if not reasons:
            return
        self.state = dataclasses.replace(self.state, pending=())
        why_not = self._why_not_run()
        if self.repo is not None and self.keeper.config is not None:
            from engine.daemon.audit import run_due_audits

            limit = self.keeper.config.directives.timeouts.cycle * 3
            reasons = run_due_audits(
                reasons, self.repo.root, self.paths, limit, self._should_stop, allowed=not why_not
            )
            why_not = self._why_not_run()  # the audit took time: the board may have changed
        if not reasons:
            return
        reason = reasons[0] + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "")
        if why_not is not None:
            event(log, "cycle not started", reason=reason, why=why_not)
            self.board.set(waiting=why_not)
            return
        self.board.set(waiting=None)
        self._run_cycle(reason)
        if self.selfhosting is not None and self.state.stop is None:
            self._check_self_update()

    def _why_not_run(self) -> str | None:
        config, status = self.keeper.config, self.board.status
        if status.paused:
            return "paused (ratchet resume)"
        if config is None:
            return "no valid configuration yet: " + (status.config_error or "")
        if status.config_error:  # the cycle reads the files: it would only fail on them
            return "the configuration files are invalid (see configuration)"
        assert self.repo is not None
        identity, limit = self._identity(), config.directives.max_review_branches
        return review_limit_reached(self.repo, self.board, identity, limit)

    def _run_cycle(self, reason: str) -> None:
        config, repo = self.keeper.config, self.repo
        assert config is not None and repo is not None
        runtime = self.selfhosting.runtime() if self.selfhosting else Runtime()
        limits = CycleLimits(
            timeout=config.directives.timeouts.cycle,
            grace=self.options.grace,
            command=self.options.cycle_command,
            workers=config.directives.workers,
        )
        self.state = dataclasses.replace(self.state, phase=Phase.CYCLE)
        self.notifier.status(f"running a cycle ({reason})")
        try:
            outcome = CycleSupervisor(repo, self.paths, self.board).run(
                reason, limits, runtime=runtime, should_stop=self._should_stop, on_tick=self._tick
            )
        finally:
            # our own merge is not a reason for another cycle
            self.state = dataclasses.replace(self.state, phase=Phase.IDLE, seen_tip=None)
        if not outcome.completed:
            reconcile_and_report(
                repo,
                self.paths,
                self.board,
                self._identity(),
                fsck=False,
                why=f"cycle {outcome.outcome}",
            )
        if self.selfhosting is not None:
            self.selfhosting.after_cycle(outcome)
        self.board.settle()
        self.notifier.status(self.board.summary())

    def _check_self_update(self) -> None:
        config, target = self.keeper.config, self._target()
        assert self.selfhosting is not None and self.repo is not None and config is not None
        if target is None:
            return
        check = UpdateCheck(
            target=target, identity=self._identity(), cycle_timeout=config.directives.timeouts.cycle
        )
        self.state = dataclasses.replace(self.state, phase=Phase.CYCLE)
        try:
            self.selfhosting.check_update(self.repo, check, self._should_stop)
        finally:
            self.state = dataclasses.replace(self.state, phase=Phase.IDLE, seen_tip=None)

    def _should_stop(self) -> str | None:
        """Why the running child must stop now, if it must."""
        return why_stop(self.state, self.board.status, self.keeper.config)

    def _tick(self) -> None:
        """While a child runs (every ~0.1 s): apply what arrived meanwhile."""
        self._apply(self.inbox.drain())

    # ------------------------------------------------------------------ repository

    def _identity(self) -> Identity:
        config = self.keeper.config
        return config.directives.identity if config is not None else Identity()

    def _target(self) -> str | None:
        assert self.repo is not None
        config = self.keeper.config
        return (config.directives.target_branch if config else None) or self.repo.current_branch()
