"""Wires one cycle from concrete adapters: the path ``ratchet run-once`` (and every
daemon cycle, which is a ``run-once`` child process) takes.

Order matters for safety: configuration and the plan file are validated and the sandbox
is probed *before* anything is created, so bad input leaves no trace; the repository's
cycle lock keeps two cycles from ever running at once. Holding it, a run first puts away
what dead runs left (:func:`recover`), so a run killed at any point is followed by one that
completes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import DaemonError
from engine.gate.measure import SandboxMeasurer, make_measurer
from engine.model import CycleReport, Directives, Goal, Proposal
from engine.providers.base import Provider
from engine.vcs import Repository

if TYPE_CHECKING:
    from engine.config import Config
    from engine.cycle.orchestrator import Cycle

log = logging.getLogger("ratchet")


def run_one_cycle(
    repo_path: Path,
    *,
    goal_id: str | None = None,
    plan_file: Path | None = None,
    provider: Provider | None = None,
    workers: int = 1,
    on_step: Callable[[str, str], None] | None = None,
) -> list[CycleReport]:
    """Run one cycle on ``repo_path``; every attempt's report, the outcome last (with
    ``workers`` > 1, up to that many goals at once: :mod:`engine.cycle.workers`).
    ``on_step`` is told each step (the CLI's progress display), besides the daemon's
    progress file."""
    from engine.cycle.orchestrator import Cycle, CycleRequest
    from engine.cycle.pending import retry_pending

    repo = Repository.open(repo_path)
    config = _load_config(repo.root)
    plan: Proposal | None = None
    if plan_file is not None:
        from engine.patching.planfile import load_plan

        plan = load_plan(plan_file)
        if not plan.provider:
            plan = replace(plan, provider="scripted", model=f"plan:{plan_file.name}")
    measurer = make_measurer(config.directives)
    if isinstance(measurer, SandboxMeasurer):  # its first test runs start warm from here:
        measurer.warm_up()  # beside the lock, recovery, worktree and plan (...evaluation.warm)
    with cycle_lock(repo):
        recover(repo, config)
        cycle = Cycle(
            repo,
            config,
            measurer,
            make_provider=lambda goal: _provider(goal, config.directives, repo.root),
            on_step=_progress_writer(on_step),
            varied=lambda goal: _varied(goal, config.directives),
        )
        if plan is None and goal_id is None:
            merged = retry_pending(cycle.seams)
            if merged is not None:
                return [_push(repo, config, merged)]
        request = CycleRequest(goal_id=goal_id, plan=plan, provider=provider)
        reports = cycle.run(request, workers=workers)
        return [*reports[:-1], _push(repo, config, reports[-1])]


def _push(repo: Repository, config: Config, report: CycleReport) -> CycleReport:
    """``directives.push`` after the cycle (records are written by now): the report gains a
    note; a failure is logged and journaled, never the cycle's outcome."""
    if config.directives.push is None:
        return report
    from datetime import UTC, datetime

    from engine.push.github import GhCli
    from engine.push.pusher import PushReport, push_after_cycle, record_failure

    at = datetime.now(UTC).isoformat(timespec="seconds")
    target = config.directives.target_branch or repo.current_branch() or ""
    try:
        done = push_after_cycle(repo, config.directives, target, at=at, gh=GhCli(repo.root))
    except Exception as exc:  # noqa: BLE001 - a push never fails the cycle or loses records
        done = PushReport(remote=config.directives.push.remote, at=at, errors=(repr(exc),))
    if done is None:
        return report
    if not done.ok:
        log.warning("ratchet: push: %s", done.summary())
        record_failure(repo.state_dir, done, cycle_id=report.cycle_id, goal=report.goal)
    return replace(report, notes=(*report.notes, f"push: {done.summary()}"))


@contextmanager
def cycle_lock(repo: Repository) -> Iterator[None]:
    """Hold the repository's cycle lock or raise DaemonError: no two cycles, or a cycle and
    a human's review decision, ever run at once."""
    from filelock import FileLock, Timeout

    from engine.records.layout import cycle_lock_file

    repo.state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(cycle_lock_file(repo.state_dir)))
    try:
        lock.acquire(timeout=0)
    except Timeout as exc:
        raise DaemonError(
            f"another ratchet cycle is running on {repo.root} (lock {lock.lock_file}); "
            "wait for it or stop the daemon with `ratchet stop`"
        ) from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def decision_cycle(
    repo_path: Path, *, on_step: Callable[[str, str], None] | None = None
) -> Iterator[Cycle]:
    """A Cycle for a human's decision (``ratchet review accept``, ``ratchet retry``) under
    the cycle lock, after the same recovery as run-once; configuration validated and the
    sandbox probed first."""
    from engine.cycle.orchestrator import Cycle

    repo = Repository.open(repo_path)
    config = _load_config(repo.root)
    measurer = make_measurer(config.directives)
    with cycle_lock(repo):
        recover(repo, config)
        yield Cycle(
            repo,
            config,
            measurer,
            make_provider=lambda goal: _provider(goal, config.directives, repo.root),
            on_step=_progress_writer(on_step),
        )


def recover(repo: Repository, config: Config) -> None:
    """Reconcile after dead runs (call with the cycle lock held): archive their half-made
    branches, remove their worktrees (:mod:`engine.vcs.leftovers`), then append the journal
    entries of merges it lacks (:mod:`engine.records.reconcile`). Reported on stderr (log
    warning) when something was found."""
    from engine.records.reconcile import reconcile_journal
    from engine.vcs.leftovers import clean_leftovers

    left = clean_leftovers(repo, config.directives.identity)
    if left.changed:
        log.warning("ratchet: cleaned up after an interrupted run: %s", left.summary())
    for error in left.errors:
        log.warning("ratchet: cleanup: %s", error)
    target = config.directives.target_branch or repo.current_branch()
    restored = reconcile_journal(repo, target) if target else ()
    if restored:
        log.warning("ratchet: journal entries restored from git: %s", ", ".join(restored))


def _progress_writer(
    also: Callable[[str, str], None] | None = None,
) -> Callable[[str, str], None]:
    """Report (goal, step) to the file the daemon names in RATCHET_PROGRESS_FILE, and to
    ``also`` (the CLI's display)."""
    target = os.environ.get("RATCHET_PROGRESS_FILE")
    if not target:
        return also or (lambda goal, step: None)
    path = Path(target)

    def write(goal: str, step: str) -> None:
        if also is not None:
            also(goal, step)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"goal": goal, "step": step, "pid": os.getpid()}))
            tmp.replace(path)
        except OSError:
            pass  # progress is best effort; the cycle never fails for it

    return write


def _load_config(root: Path) -> Config:
    """The repository's configuration; under ``ratchet fleet``, with the fleet's executor
    when its directives.yaml names none (:mod:`engine.config.shared`)."""
    from engine.config import load_config
    from engine.config.shared import with_shared_executor

    return with_shared_executor(load_config(root), root, os.environ)


def _varied(goal: Goal, directives: Directives) -> bool:
    """Whether asking the goal's provider again gives another proposal (a model does)."""
    from engine.providers.registry import REGISTRY, provider_config_for, resolve_name

    name = resolve_name(provider_config_for(goal, directives), directives)
    entry = REGISTRY.get(name)
    return entry is not None and entry.model


def _provider(goal: Goal, directives: Directives, root: Path) -> Provider:
    from engine.providers import make_provider

    return make_provider(goal, directives, repo=root)
