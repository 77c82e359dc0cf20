"""``ratchet fleet run-once``: one cycle on every member, in series or a few at once.

Each usable, unpaused member gets one ``ratchet run-once --repo R --json`` child
(:mod:`engine.fleet.launch`), judged the way the daemon judges its cycles
(:func:`engine.daemon.cycles.judge`). Members run in file order, up to ``parallel`` at
once; each keeps its own cycle lock, so a member whose daemon is running is reported
``busy``, not run twice. A skipped member (its problems) or a paused one is reported
and the others still run. ``should_stop`` (SIGTERM) stops the children cleanly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from engine.cli.exits import EXIT_CYCLE_FAILED, EXIT_OK
from engine.daemon.child import run_child
from engine.daemon.cycles import judge
from engine.fleet.file import Fleet
from engine.fleet.launch import run_once_spec
from engine.fleet.members import Member
from engine.fleet.state import FleetPaths, is_paused

# A member's outcome that is no cycle of its own (besides run-once's outcomes and the
# daemon's `interrupted`, `timeout`, `busy`, `bad-config`, `crashed`).
SKIPPED = "skipped"
PAUSED = "paused"
_FINE = ("merged", "rejected", "review", "pending", "nothing-to-do", PAUSED)
# What `--json` keeps of a member's run-once report (the whole one is in its own records).
_SUMMARY = ("goal", "outcome", "branch", "commit", "cycle_id", "target_before", "target_after")


@dataclass(frozen=True, kw_only=True)
class MemberRun:
    name: str
    path: str
    outcome: str
    seconds: float = 0.0
    message: str = ""
    report: dict[str, Any] | None = None  # run-once's JSON

    @property
    def ok(self) -> bool:
        return self.outcome in _FINE

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 2),
            "message": self.message,
            "report": _summary(self.report),
        }


@dataclass(frozen=True, kw_only=True)
class FleetRun:
    runs: tuple[MemberRun, ...]
    seconds: float

    @property
    def exit_code(self) -> int:
        """0 when every member completed a cycle (or was paused); 4 when one was skipped,
        failed or could not run (cron notices, as with ``run-once``)."""
        return EXIT_OK if all(r.ok for r in self.runs) else EXIT_CYCLE_FAILED

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "members": [r.to_json() for r in self.runs],
            "exit": self.exit_code,
        }


def run_fleet_once(
    fleet: Fleet,
    members: tuple[Member, ...],
    *,
    parallel: int | None = None,
    should_stop: Callable[[], str | None] = lambda: None,
    grace: float = 30.0,
) -> FleetRun:
    """One cycle per runnable member (see module doc); every member appears in the result,
    in ``members`` order."""
    paths = FleetPaths(fleet.state_dir)
    start = time.monotonic()
    fleet_paused = is_paused(paths)

    def one(member: Member) -> MemberRun:
        why = _why_not(member, paths, fleet_paused)
        if why is not None:
            outcome, message = why
            return MemberRun(
                name=member.name, path=str(member.path), outcome=outcome, message=message
            )
        if (reason := should_stop()) is not None:
            return MemberRun(
                name=member.name, path=str(member.path), outcome="interrupted", message=reason
            )
        paths.state.mkdir(parents=True, exist_ok=True)
        spec = run_once_spec(
            member, paths.state, paths.output(member.name, "run-once"), grace=grace
        )
        judged = judge(run_child(spec, should_stop=should_stop))
        report = judged.report
        return MemberRun(
            name=member.name,
            path=str(member.path),
            outcome=judged.outcome,
            seconds=judged.result.seconds,
            message=judged.message,
            report=report,
        )

    width = max(1, min(parallel or fleet.parallel, len(members) or 1))
    if width == 1:
        runs = [one(m) for m in members]
    else:
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="fleet-run") as pool:
            runs = list(pool.map(one, members))
    return FleetRun(runs=tuple(runs), seconds=time.monotonic() - start)


def _summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if report is None:
        return None
    summary = {k: report.get(k) for k in _SUMMARY}
    candidate = report.get("candidate")
    summary["candidate"] = candidate.get("commit") if isinstance(candidate, dict) else None
    return summary


def _why_not(member: Member, paths: FleetPaths, fleet_paused: bool) -> tuple[str, str] | None:
    if not member.usable:
        return SKIPPED, "; ".join(member.problems)
    if fleet_paused:
        return PAUSED, "the fleet is paused (`ratchet fleet resume`)"
    if member.paused:
        return PAUSED, "paused in the fleet file"
    if is_paused(paths, member.name):
        return PAUSED, f"paused (`ratchet fleet resume {member.name}`)"
    return None
