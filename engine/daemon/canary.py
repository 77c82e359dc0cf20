"""The canary: does a new revision of ratchet's own code still work, before cycles use it?

The new revision (already checked out in ``runtime``) must, run from that checkout:

1. ``import``: import its CLI and cycle modules;
2. ``check``: ``python -m engine.cli check`` accept the configuration of a scratch clone;
3. ``cycle``: ``python -m engine.cli run-once --json`` complete one full cycle in that clone
   (exit 0, a JSON report, an outcome other than ``error``).

The scratch clone (``.ratchet/canary/<sha>``) has no remote and is removed afterwards, so
nothing the canary does can reach the real repository.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.cli.exits import EXIT_CYCLE_FAILED
from engine.daemon.child import ChildResult, ChildSpec, run_child
from engine.daemon.paths import StatePaths
from engine.errors import GitError
from engine.vcs import Repository
from engine.vcs.upkeep import clone_scratch

STEP_TIMEOUT = 300.0
IMPORT_CHECK = "import engine.cli.app, engine.cycle"  # the app, not only the lazy package


@dataclass(frozen=True)
class CanaryStep:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class CanaryResult:
    sha: str
    steps: tuple[CanaryStep, ...]
    interrupted: str | None = None

    @property
    def ok(self) -> bool:
        return self.interrupted is None and bool(self.steps) and all(s.ok for s in self.steps)

    @property
    def failed_step(self) -> CanaryStep | None:
        return next((s for s in self.steps if not s.ok), None)

    def describe(self) -> str:
        if self.interrupted:
            return f"canary interrupted: {self.interrupted}"
        failed = self.failed_step
        if failed is None:
            return "canary passed: " + ", ".join(f"{s.name} {s.seconds:.1f}s" for s in self.steps)
        return f"canary failed at step {failed.name!r}: {failed.detail}"


def run_canary(
    repo: Repository,
    paths: StatePaths,
    *,
    sha: str,
    runtime: Path,
    target: str,
    env: Mapping[str, str],
    cycle_timeout: float,
    should_stop: Callable[[], str | None] = lambda: None,
) -> CanaryResult:
    """Run the canary of revision ``sha`` checked out at ``runtime``; see the module doc."""
    scratch = paths.canary / sha[:12]
    try:
        clone_scratch(repo, scratch, sha, target)
    except GitError as exc:
        return CanaryResult(sha, (CanaryStep("clone", False, 0.0, str(exc)),))
    child_env = {**env, "PYTHONPATH": str(runtime)}
    child_env.pop("RATCHET_PROGRESS_FILE", None)
    python = sys.executable
    plan = (
        ("import", (python, "-c", IMPORT_CHECK), STEP_TIMEOUT),
        ("check", (python, "-m", "engine.cli", "check", "--repo", str(scratch)), STEP_TIMEOUT),
        (
            "cycle",
            (python, "-m", "engine.cli", "run-once", "--repo", str(scratch), "--json"),
            cycle_timeout,
        ),
    )
    steps: list[CanaryStep] = []
    try:
        for name, argv, timeout in plan:
            result = run_child(
                ChildSpec(
                    argv=argv,
                    cwd=runtime,
                    env=child_env,
                    timeout=timeout,
                    output=paths.canary_output(name),
                ),
                should_stop=should_stop,
            )
            if result.interrupted:
                return CanaryResult(sha, tuple(steps), interrupted=result.interrupted)
            step = _judge(name, result)
            steps.append(step)
            if not step.ok:
                break
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return CanaryResult(sha, tuple(steps))


def _judge(name: str, result: ChildResult) -> CanaryStep:
    seconds = round(result.seconds, 2)
    if result.timed_out:
        return CanaryStep(name, False, seconds, "timed out")
    finished = result.returncode == 0 or (
        name == "cycle" and result.returncode == EXIT_CYCLE_FAILED
    )
    if not finished:  # (exit 4: run-once's cycle ended in `error`/`budget`, judged below)
        lines = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
        return CanaryStep(name, False, seconds, f"exit {result.returncode}: {lines[-1][-400:]}")
    if name == "cycle":
        report = result.last_json
        if report is None:
            return CanaryStep(name, False, seconds, "no JSON report on stdout")
        if report.get("outcome") == "error":
            return CanaryStep(name, False, seconds, f"outcome error: {report.get('message', '')}")
        return CanaryStep(name, True, seconds, f"outcome {report.get('outcome')}")
    return CanaryStep(name, True, seconds)
