"""The daemon loop's own state, as values: its options, its phase, and the one rule that
says when a running child must stop."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.daemon.status import DaemonStatus

if TYPE_CHECKING:
    from engine.config import Config


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


class Phase(enum.Enum):
    STARTING = "starting"
    IDLE = "idle"
    CYCLE = "cycle"  # a cycle or a canary child is running


@dataclass(frozen=True)
class LoopState:
    phase: Phase = Phase.STARTING
    stop: str | None = None  # the signal that asked the daemon to stop
    pending: tuple[str, ...] = ()  # reasons of the cycle requests not served yet
    seen_tip: str | None = None  # the target's tip after our own last change


def why_stop(state: LoopState, status: DaemonStatus, config: Config | None) -> str | None:
    """Why the running child (cycle or canary) must stop now, or None: the daemon is
    stopping, it was paused, or the goal being worked on was removed or is no longer
    active in the configuration in force."""
    if state.stop is not None:
        return f"daemon stopping ({state.stop})"
    if status.paused:
        return "paused"
    goal = status.cycle.goal if status.cycle is not None else None
    if goal is not None and config is not None:
        match = next((g for g in config.goals if g.id == goal), None)
        if match is None:
            return f"goal {goal} was removed from goals.yaml"
        if match.status != "active":
            return f"goal {goal} is now {match.status}"
    return None
