"""The daemon's scheduled audit (``directives.audit: {cron: ...}``): a ``ratchet audit`` child.

A fire of an ``audit-cron:`` schedule entry queues a reason that the loop hands here instead
of to a cycle: the audit runs as a child (its own process group, a wall-clock limit, output
under ``.ratchet/audit-last.*``) and its result is logged; a provider it catches is held by
the gate (:mod:`engine.gate.caught`), which ``ratchet status`` shows.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from engine.cli.exits import EXIT_AUDIT_FAILED
from engine.daemon.child import ChildSpec, run_child
from engine.daemon.logs import LOGGER, event
from engine.daemon.paths import StatePaths
from engine.daemon.schedule import AUDIT_KEY, AUDIT_REASON

log = logging.getLogger(LOGGER)


def is_audit(reason: str) -> bool:
    """Whether a queued reason asks for the audit (an ``audit-cron:`` entry or its catch-up)."""
    return reason.startswith(AUDIT_REASON) or reason.startswith(f"catch-up {AUDIT_KEY}")


def run_audit_child(
    repo: Path,
    paths: StatePaths,
    reason: str,
    timeout: float,
    should_stop: Callable[[], str | None],
) -> int | None:
    """Run ``ratchet audit --repo REPO --json`` to its end; its exit code (None: not started)."""
    argv = ("-m", "engine.cli", "audit", "--repo", str(repo), "--json")
    spec = ChildSpec(
        argv=(sys.executable, *argv),
        cwd=repo,
        env=dict(os.environ),
        timeout=timeout,
        output=paths.audit_output,
    )
    event(log, "audit started", reason=reason)
    result = run_child(spec, should_stop)
    report = result.last_json or {}
    level = logging.ERROR if result.returncode == EXIT_AUDIT_FAILED else logging.INFO
    event(
        log,
        "audit finished",
        level,
        code=result.returncode,
        gate_failed=report.get("gate_failed"),
        caught=report.get("recorded"),
        seconds=round(result.seconds, 1),
    )
    return result.returncode


def run_due_audits(
    reasons: tuple[str, ...],
    repo: Path,
    paths: StatePaths,
    timeout: float,
    should_stop: Callable[[], str | None],
    *,
    allowed: bool,
) -> tuple[str, ...]:
    """Run the first due audit among ``reasons`` when ``allowed`` (not paused, a valid
    configuration: the rule cycles follow); the other, cycle, reasons are returned."""
    audits = [r for r in reasons if is_audit(r)]
    if audits and allowed:
        run_audit_child(repo, paths, audits[0], timeout, should_stop)
    return tuple(r for r in reasons if not is_audit(r))
