"""The cycle supervisor: one ``ratchet run-once`` child at a time, start to result.

It launches the child (:mod:`engine.daemon.cycles` builds the command, :mod:`engine.daemon.child`
runs it in its own process group under the cycle's wall-clock limit), shows its goal and
step on the status board while it runs, and records the judged outcome (status, today's
spend, the log). Whether the child must stop early is the caller's ``should_stop``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.daemon.board import StatusBoard, now_iso
from engine.daemon.child import ChildSpec, run_child
from engine.daemon.cycles import CycleOutcome, cycle_launch, judge
from engine.daemon.logs import LOGGER, event
from engine.daemon.paths import StatePaths
from engine.daemon.progress import ProgressFollower
from engine.daemon.status import CycleInfo, OutcomeInfo
from engine.vcs import Repository

log = logging.getLogger(LOGGER)


@dataclass(frozen=True)
class Runtime:
    """Where the child's ratchet comes from: a known-good checkout (self-hosting), or, when
    ``path`` is None, the ratchet this daemon runs."""

    path: Path | None = None
    sha: str | None = None


@dataclass(frozen=True, kw_only=True)
class CycleLimits:
    timeout: float  # the cycle's wall-clock limit (directives: timeouts.cycle)
    grace: float  # SIGTERM -> SIGKILL when the child is stopped
    command: tuple[str, ...] | None = None  # replaces `python -m engine.cli` (dev hook)
    workers: int = 1  # directives.workers: candidates the cycle evaluates at once


class CycleSupervisor:
    """Runs cycles for one repository; the main thread only. No I/O in the constructor."""

    def __init__(self, repo: Repository, paths: StatePaths, board: StatusBoard) -> None:
        self.repo = repo
        self.paths = paths
        self.board = board

    def run(
        self,
        reason: str,
        limits: CycleLimits,
        *,
        runtime: Runtime = Runtime(),
        should_stop: Callable[[], str | None] = lambda: None,
        on_tick: Callable[[], None] = lambda: None,
    ) -> CycleOutcome:
        """Run one cycle to its end (or until ``should_stop`` says why not, or the limit);
        ``on_tick`` is called about ten times a second meanwhile. Returns the judged outcome,
        already recorded on the board and in the log."""
        launch = cycle_launch(
            self.paths.repo,
            state=self.paths.state,
            runtime=runtime.path,
            runtime_sha=runtime.sha,
            command=limits.command,
            progress=self.paths.progress,
            workers=limits.workers,
        )
        self.paths.progress.unlink(missing_ok=True)
        follower = ProgressFollower(self.repo, self.paths)
        info = CycleInfo(reason=reason, started=now_iso(), runtime=runtime.sha)
        self.board.set(state="running", cycle=info)
        event(log, "cycle started", reason=reason, runtime=runtime.sha)

        def tick() -> None:
            on_tick()
            self._follow(follower)

        result = run_child(
            ChildSpec(
                argv=launch.argv,
                cwd=launch.cwd,
                env=launch.env,
                timeout=limits.timeout,
                grace=limits.grace,
                output=self.paths.cycle_output,
            ),
            should_stop=should_stop,
            on_start=lambda pid: self.board.set(cycle=dataclasses.replace(info, pid=pid)),
            on_tick=tick,
        )
        outcome = judge(result)
        self._record(outcome, reason)
        return outcome

    def _follow(self, follower: ProgressFollower) -> None:
        cycle = self.board.status.cycle
        if cycle is None:
            return
        goal, step = follower.poll(cycle.goal, cycle.step)
        if goal != cycle.goal or step != cycle.step:
            self.board.set(cycle=dataclasses.replace(cycle, goal=goal, step=step))

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
        self.board.put(self.board.status.with_outcome(info).with_spend(usage, today))
        event(
            log,
            "cycle finished",
            logging.WARNING if outcome.failed else logging.INFO,
            outcome=outcome.outcome,
            goal=info.goal,
            seconds=info.seconds,
            branch=info.branch,
            message=info.message,
            exit=outcome.result.returncode,
        )
