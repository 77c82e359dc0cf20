"""The daemon: one per repository, cycles one at a time, steered by files and signals.

Threads: the main thread owns all state and runs every child process (cycles, canaries) and
every git operation; the scheduler's and the watcher's threads only queue requests and raise
flags, then wake the main thread. Signal handlers (SIGTERM, SIGINT, SIGHUP) also only raise
flags. So no lock is ever held across work, and two cycles can never overlap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from engine.daemon import control
from engine.daemon.child import ChildSpec, is_cycle_of, kill_stale_group, run_child
from engine.daemon.cycles import CycleOutcome, cycle_launch, judge
from engine.daemon.lock import DaemonLock
from engine.daemon.logs import LOGGER, event, setup_logging
from engine.daemon.notify import SystemdNotifier
from engine.daemon.paths import StatePaths
from engine.daemon.progress import ProgressFollower
from engine.daemon.reconcile import ReconcileReport, reconcile
from engine.daemon.status import CycleInfo, DaemonStatus, OutcomeInfo, Spend, read_status
from engine.daemon.status import write_status as _write_status
from engine.daemon.watcher import config_digest
from engine.model import Identity
from engine.vcs.branches import open_review_branches, scan_branches

if TYPE_CHECKING:
    from engine.config import Config
    from engine.daemon.schedule import CycleScheduler
    from engine.daemon.selfhost import SelfHost
    from engine.daemon.watcher import ConfigWatcher
    from engine.vcs import Repository

log = logging.getLogger(LOGGER)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class DaemonOptions:
    repo: Path
    log_json: bool = False
    cycle_command: tuple[str, ...] | None = None  # replaces `python -m engine.cli` (dev hook)
    grace: float = 20.0  # SIGTERM -> SIGKILL for a child being stopped
    debounce: float = 0.25  # quiet time after a burst of file events
    idle_tick: float = 30.0  # housekeeping wake-up while idle
    rollback_after: int = 3  # self-hosting: failed cycles in a row before rolling back
    fsck_on_start: bool = True


class Daemon:
    """``run()`` is the whole life of the daemon; call it from the main thread."""

    def __init__(self, options: DaemonOptions) -> None:
        self.options = options
        self.paths = StatePaths(options.repo)
        self.lock = DaemonLock(self.paths.lock)
        self.notifier = SystemdNotifier()
        self.status = DaemonStatus()
        self.config: Config | None = None
        self.digest = ""
        self.repo: Repository | None = None
        self.selfhost: SelfHost | None = None
        self.scheduler: CycleScheduler | None = None
        self.watcher: ConfigWatcher | None = None
        self._wake = threading.Event()
        self._mutex = threading.Lock()
        self._requests: list[str] = []
        self._cycle_running = False
        self._stop_reason: str | None = None
        self._hup = False
        self._config_dirty = False
        self._control_dirty = False
        self._current_goal: str | None = None
        self._progress: ProgressFollower | None = None
        self._seen_tip: str | None = None  # the target tip after our own last change

    # ------------------------------------------------------------------ life

    def run(self) -> int:
        """Take the lock (``AlreadyRunning`` if another daemon has it), serve until SIGTERM
        or SIGINT, return the exit code (0)."""
        self.paths = StatePaths.for_repo(self.options.repo)
        self.lock = DaemonLock(self.paths.lock)
        self.lock.acquire()
        try:
            setup_logging(self.paths.log, json_lines=self.options.log_json)
            self._install_signals()
            self._startup()
            while self._stop_reason is None:
                self._wake.wait(self._idle_timeout())
                self._wake.clear()
                self.process_events()
                if self._stop_reason is None:
                    self._serve_requests()
            return 0
        finally:
            self._shutdown()

    def _startup(self) -> None:
        from engine.vcs import Repository

        previous = read_status(self.paths.status)
        self._set(
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
            self._kill_orphan(previous.cycle)
        self._load_config(force=True)
        self._reconcile(fsck=self.options.fsck_on_start, why="start")
        self._setup_selfhost()
        self._start_scheduler()
        self._start_watcher()
        self._read_control()
        self._set(state="paused" if self.status.paused else "idle")
        self.notifier.ready(self._summary())
        event(log, "daemon ready", paused=self.status.paused, next_run=self.status.next_run)

    def _shutdown(self) -> None:
        self.notifier.stopping()
        if self.watcher is not None:
            self.watcher.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.lock.held:
            self._set(state="stopped", cycle=None, next_run=None)
            event(log, "daemon stopped", reason=self._stop_reason or "error")
            self.lock.release()

    def _install_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            self._stop_reason = signal.Signals(signum).name
            self._wake.set()

        def hup(signum: int, frame: FrameType | None) -> None:
            self._hup = True
            self._wake.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    def _idle_timeout(self) -> float:
        return self.options.idle_tick

    # ------------------------------------------------------------------ requests and events

    def request_cycle(self, reason: str, *, scheduled: bool = False) -> None:
        """Queue a cycle (any thread). A scheduled fire while a cycle runs is dropped, as
        APScheduler's ``max_instances=1`` would; other requests wait for the next turn."""
        with self._mutex:
            if scheduled and self._cycle_running:
                event(log, "schedule fired during a cycle: skipped", reason=reason)
                return
            self._requests.append(reason)
        self._wake.set()

    def _on_schedule(self, reason: str) -> None:
        self.request_cycle(reason, scheduled=True)

    def _on_config_event(self) -> None:
        self._config_dirty = True
        self._wake.set()

    def _on_control_event(self) -> None:
        self._control_dirty = True
        self._wake.set()

    def process_events(self) -> None:
        """Apply what the other threads and signals flagged (main thread only)."""
        if self._hup:
            self._hup = False
            self.notifier.reloading()
            event(log, "SIGHUP: reloading configuration")
            self._load_config(force=True)
            self._read_control()
            self.notifier.ready(self._summary())
        if self._config_dirty:
            self._config_dirty = False
            self._load_config(force=False)
        if self._control_dirty or not self._cycle_running:
            self._control_dirty = False
            self._read_control()
        if not self._cycle_running:
            self._watch_target()
        if self.scheduler is not None:
            nxt = self.scheduler.next_run()
            next_run = nxt.isoformat(timespec="seconds") if nxt else None
            if next_run != self.status.next_run:
                self._set(next_run=next_run)

    def _watch_target(self) -> None:
        """``on_change: run`` also means: a cycle when someone else moves the target."""
        if self.repo is None or self.config is None:
            return
        target = self._target()
        tip = self.repo.rev_parse(f"refs/heads/{target}") if target else None
        seen, self._seen_tip = self._seen_tip, tip
        if seen is not None and tip != seen and self.config.directives.schedule.on_change == "run":
            self.request_cycle(f"target {target} moved to {str(tip)[:12]} (on_change: run)")

    def _read_control(self) -> None:
        paused = control.is_paused(self.paths)
        pinned = control.read_pin(self.paths)
        if paused != self.status.paused:
            event(log, "paused" if paused else "resumed")
            state = self.status.state
            if not self._cycle_running and state in ("idle", "paused"):
                state = "paused" if paused else "idle"
            self._set(paused=paused, state=state)
            self.notifier.status(self._summary())
        if pinned != self.status.pinned:
            event(log, "pinned" if pinned else "unpinned", revision=pinned)
            self._set(pinned=pinned)

    # ------------------------------------------------------------------ configuration

    def _load_config(self, *, force: bool) -> None:
        """Reload when the files' content changed (or ``force``). An invalid configuration
        is reported and the last good one stays in force."""
        from engine.config import load_config
        from engine.errors import ConfigError

        digest = config_digest(self.paths.repo)
        if digest == self.digest and not force:
            return
        self.digest = digest
        try:
            config = load_config(self.paths.repo)
        except ConfigError as exc:
            issues = [i.render() for i in exc.issues]
            for issue in exc.issues:
                event(
                    log,
                    "configuration invalid; keeping the last good one",
                    logging.ERROR,
                    file=issue.file,
                    line=issue.line,
                    col=issue.col,
                    field=issue.field,
                    problem=issue.problem,
                )
            self._set(config_error="\n".join(issues) or str(exc))
            return
        old, self.config = self.config, config
        self._set(
            config_error=None,
            config_fingerprint=digest,
            goals=tuple(f"{g.id} ({g.status})" for g in config.goals),
        )
        event(
            log,
            "configuration loaded",
            goals=len(config.goals),
            rules=len(config.rules),
            fingerprint=digest[:12],
        )
        if self.scheduler is not None:
            self._apply_schedule(catch_up=False)
        if old is not None and old != config and config.directives.schedule.on_change == "run":
            self.request_cycle("configuration edited (on_change: run)")

    # ------------------------------------------------------------------ scheduling, watching

    def _start_scheduler(self) -> None:
        from engine.daemon.schedule import CycleScheduler, LastRuns

        self.scheduler = CycleScheduler(self._on_schedule, LastRuns(self.paths.last_runs))
        self.scheduler.start()
        self._apply_schedule(catch_up=True)

    def _apply_schedule(self, *, catch_up: bool) -> None:
        if self.scheduler is None or self.config is None:
            return
        try:
            due = self.scheduler.apply(self.config.directives.schedule, catch_up=catch_up)
        except (ValueError, LookupError) as exc:  # a cron/timezone the loader let through
            event(log, "schedule not applied", logging.ERROR, error=str(exc))
            return
        if due:
            event(log, "catching up a run missed while down", missed=due)
            self.request_cycle(due[0])

    def _start_watcher(self) -> None:
        from engine.daemon.watcher import ConfigWatcher

        self.watcher = ConfigWatcher(
            self.paths.repo,
            self.paths.control,
            self._on_config_event,
            self._on_control_event,
            debounce=self.options.debounce,
        )
        self.watcher.start()

    # ------------------------------------------------------------------ cycles

    def _serve_requests(self) -> None:
        with self._mutex:
            reasons, self._requests = self._requests, []
        if not reasons:
            return
        reason = reasons[0] + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "")
        why_not = self._why_not_run()
        if why_not is not None:
            event(log, "cycle not started", reason=reason, why=why_not)
            self._set(waiting=why_not)
            return
        self._set(waiting=None)
        self._run_cycle(reason)
        if self.selfhost is not None and self._stop_reason is None:
            self._check_self_update()

    def _why_not_run(self) -> str | None:
        if self.status.paused:
            return "paused (ratchet resume)"
        if self.config is None:
            return "no valid configuration yet: " + (self.status.config_error or "")
        assert self.repo is not None
        branches = scan_branches(self.repo, self._identity())
        review = open_review_branches(branches)
        human = tuple(b.name for b in branches if b.kind == "human")
        self._set(review_branches=review, human_branches=human)
        limit = self.config.directives.max_review_branches
        if review and len(review) >= limit:
            return f"{len(review)} review branches open (max_review_branches: {limit})"
        return None

    def _run_cycle(self, reason: str) -> None:
        assert self.config is not None
        runtime_path: Path | None = None
        runtime_sha: str | None = None
        if self.selfhost is not None:
            runtime_sha = self.selfhost.runtime_revision()
            if runtime_sha is not None:
                runtime_path = self.selfhost.runtime(runtime_sha)
        launch = cycle_launch(
            self.paths.repo,
            state=self.paths.state,
            runtime=runtime_path,
            runtime_sha=runtime_sha,
            command=self.options.cycle_command,
            progress=self.paths.progress,
        )
        self.paths.progress.unlink(missing_ok=True)
        started = now_iso()
        self._current_goal = None
        self._progress = ProgressFollower(self.repo, self.paths) if self.repo else None
        with self._mutex:
            self._cycle_running = True
        info = CycleInfo(reason=reason, started=started, runtime=runtime_sha)
        self._set(state="running", cycle=info)
        self.notifier.status(f"running a cycle ({reason})")
        event(log, "cycle started", reason=reason, runtime=runtime_sha)
        try:
            result = run_child(
                ChildSpec(
                    argv=launch.argv,
                    cwd=launch.cwd,
                    env=launch.env,
                    timeout=self.config.directives.timeouts.cycle,
                    grace=self.options.grace,
                    output=self.paths.cycle_output,
                ),
                should_stop=self._should_stop,
                on_start=lambda pid: self._set(cycle=dataclasses.replace(info, pid=pid)),
                on_tick=self._tick,
            )
        finally:
            with self._mutex:
                self._cycle_running = False
        outcome = judge(result)
        self._record(outcome, reason)
        if not outcome.completed:
            self._reconcile(fsck=False, why=f"cycle {outcome.outcome}")
        if self.selfhost is not None:
            self._count_for_rollback(outcome)
        self._set(state="paused" if self.status.paused else "idle", cycle=None)
        self._seen_tip = None  # our own merge is not a reason for another cycle
        self.notifier.status(self._summary())

    def _should_stop(self) -> str | None:
        """Why the running child must stop now, if it must."""
        if self._stop_reason is not None:
            return f"daemon stopping ({self._stop_reason})"
        if self.status.paused:
            return "paused"
        goal = self._current_goal
        if goal is not None and self.config is not None:
            match = next((g for g in self.config.goals if g.id == goal), None)
            if match is None:
                return f"goal {goal} was removed from goals.yaml"
            if match.status != "active":
                return f"goal {goal} is now {match.status}"
        return None

    def _tick(self) -> None:
        """While a child runs (every ~0.1 s): apply events, follow the cycle's progress."""
        if self._wake.is_set():
            self._wake.clear()
            self.process_events()
        self._follow_progress()

    def _follow_progress(self) -> None:
        cycle = self.status.cycle
        if cycle is None or self._progress is None:
            return
        goal, step = self._progress.poll(cycle.goal, cycle.step)
        if goal != cycle.goal or step != cycle.step:
            self._current_goal = goal
            self._set(cycle=dataclasses.replace(cycle, goal=goal, step=step))

    def _record(self, outcome: CycleOutcome, reason: str) -> None:
        report = outcome.report or {}
        info = OutcomeInfo(
            finished=now_iso(),
            outcome=outcome.outcome,
            goal=report.get("goal"),
            cycle_id=report.get("cycle_id"),
            branch=report.get("branch"),
            commit=report.get("commit"),
            seconds=round(outcome.result.seconds, 2),
            reason=reason,
            message=outcome.message,
        )
        today = datetime.now().date().isoformat()
        usage = report.get("usage") or {}
        self._set_status(self.status.with_outcome(info).with_spend(usage, today))
        level = logging.WARNING if outcome.failed else logging.INFO
        event(
            log,
            "cycle finished",
            level,
            outcome=outcome.outcome,
            goal=info.goal,
            seconds=info.seconds,
            branch=info.branch,
            message=info.message,
            exit=outcome.result.returncode,
        )

    # ------------------------------------------------------------------ repository hygiene

    def _identity(self) -> Identity:
        return self.config.directives.identity if self.config is not None else Identity()

    def _target(self) -> str | None:
        assert self.repo is not None
        configured = self.config.directives.target_branch if self.config else None
        return configured or self.repo.current_branch()

    def _reconcile(self, *, fsck: bool, why: str) -> ReconcileReport:
        assert self.repo is not None
        report = reconcile(self.repo, self.paths, self._identity(), fsck=fsck)
        self._set(human_branches=report.human)
        level = logging.INFO
        if report.errors or not report.fsck_ok:
            level = logging.ERROR
        if report.changed or report.errors or not report.fsck_ok or why == "start":
            event(
                log,
                report.summary(),
                level,
                why=why,
                archived=list(report.archived),
                worktrees=list(report.worktrees_removed),
                errors=list(report.errors),
                fsck=report.fsck_output or "clean",
            )
        if report.changed:
            self._note(f"{report.summary()} ({why})")
        return report

    def _kill_orphan(self, cycle: CycleInfo) -> None:
        """A child of a daemon that died by ``kill -9`` may still be unwinding (PDEATHSIG
        sent it SIGTERM): give it its grace, then end it."""
        if cycle.pid and is_cycle_of(cycle.pid, self.paths.repo):
            event(log, "ending the cycle a previous daemon left running", pid=cycle.pid)
            kill_stale_group(cycle.pid, grace=self.options.grace)

    def _note(self, text: str) -> None:
        self._set_status(self.status.with_note(f"{now_iso()} {text}"))

    def _note_revisions(self, text: str) -> None:
        """A self-hosting note and the revisions it is about, in one status write: a reader
        that sees the note also sees the new known-good and runtime revisions."""
        assert self.selfhost is not None
        self._set_status(
            dataclasses.replace(
                self.status.with_note(f"{now_iso()} {text}"),
                known_good=self.selfhost.known_good(),
                runtime=self.selfhost.runtime_revision(),
            )
        )

    # ------------------------------------------------------------------ self-hosting

    def _setup_selfhost(self) -> None:
        from engine.daemon.selfhost import SelfHost, is_self_hosting

        if not is_self_hosting(self.paths.repo):
            self._set(self_hosting=False)
            return
        assert self.repo is not None
        self.selfhost = SelfHost(self.repo, self.paths)
        target = self._target()
        tip = self.repo.rev_parse(f"refs/heads/{target}") if target else None
        good = self.selfhost.known_good()
        if good is None and tip is not None:
            good = self.selfhost.ensure_known_good(tip)
            self._note(f"self-hosting: known-good set to {good[:12]} (first start)")
        self._set(self_hosting=True, known_good=good, runtime=self.selfhost.runtime_revision())
        event(
            log,
            "self-hosting: cycles run from a pinned revision",
            known_good=good,
            pinned=self.selfhost.pinned(),
        )

    def _count_for_rollback(self, outcome: CycleOutcome) -> None:
        from engine.daemon.selfupdate import rollback_if_due

        assert self.selfhost is not None
        text = rollback_if_due(self.selfhost, outcome, threshold=self.options.rollback_after)
        if text is not None:
            event(log, text, logging.ERROR)
            self._note_revisions(text)

    def _check_self_update(self) -> None:
        """A merge changed ratchet's own code: canary it, then promote or revert."""
        from engine.daemon.selfupdate import promote_or_revert

        assert self.selfhost is not None and self.repo is not None and self.config is not None
        target = self._target()
        if target is None:
            return
        self._set(
            state="running", cycle=CycleInfo(reason="canary", started=now_iso(), step="canary")
        )
        try:
            result = promote_or_revert(
                self.repo,
                self.paths,
                self.selfhost,
                target=target,
                identity=self._identity(),
                cycle_timeout=self.config.directives.timeouts.cycle,
                should_stop=self._should_stop,
            )
        finally:
            self._set(state="paused" if self.status.paused else "idle", cycle=None)
            self._seen_tip = None
        if result is None:
            return
        level = logging.INFO if result.promoted else logging.ERROR
        event(log, result.text, level, steps=result.steps)
        self._note_revisions(result.text)

    # ------------------------------------------------------------------ status

    def _set(self, **changes: Any) -> None:
        self._set_status(dataclasses.replace(self.status, **changes))

    def _set_status(self, status: DaemonStatus) -> None:
        self.status = dataclasses.replace(status, updated=now_iso())
        with contextlib.suppress(OSError):
            _write_status(self.paths.status, self.status)

    def _summary(self) -> str:
        s = self.status
        if s.paused:
            return "paused"
        if s.config_error:
            return "configuration error (see ratchet status)"
        return f"idle; next run {s.next_run or 'on request'}"
