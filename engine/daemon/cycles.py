"""How the daemon launches one cycle (a ``ratchet run-once`` child) and reads its result.

The child is ``python -m engine.cli run-once --repo R --json``. For an ordinary repository it
imports the same ratchet the daemon runs; for ratchet itself it imports the known-good
revision's checkout (``PYTHONPATH`` and the working directory both point there, so the files
being edited in the repository are never imported).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.cli.exits import EXIT_CONFIG, EXIT_CYCLE_FAILED, EXIT_LOCKED, EXIT_OK
from engine.daemon.child import ChildResult

# run-once exits with these when its cycle ran to its end (EXIT_CYCLE_FAILED: the outcome
# was `error` or `budget`, reported in its JSON like any other outcome)
_FINISHED = (EXIT_OK, EXIT_CYCLE_FAILED)


def engine_root() -> Path:
    """The directory that contains the ``engine`` package this daemon runs."""
    import engine

    return Path(engine.__file__).resolve().parent.parent


def with_engine_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the ratchet this process runs first on ``PYTHONPATH`` (a child runs the
    same code, whatever the working directory)."""
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(engine_root()) + (os.pathsep + old if old else "")
    return env


@dataclass(frozen=True)
class CycleLaunch:
    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    runtime: str | None  # the revision run from (self-hosting), else None


def cycle_launch(
    repo: Path,
    *,
    state: Path,
    runtime: Path | None = None,
    runtime_sha: str | None = None,
    command: tuple[str, ...] | None = None,
    progress: Path | None = None,
    environ: Mapping[str, str] | None = None,
    workers: int = 1,
) -> CycleLaunch:
    """The child's argv, working directory and environment.

    ``command`` replaces the ``python -m engine.cli`` prefix (a development hook; the
    subcommand and its options are appended either way).
    """
    env = dict(os.environ if environ is None else environ)
    env["RATCHET_DAEMON"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if progress is not None:
        env["RATCHET_PROGRESS_FILE"] = str(progress)
    if runtime is not None:
        env["PYTHONPATH"] = str(runtime)  # only the known-good checkout: nothing else leaks in
        cwd = runtime
    else:
        with_engine_path(env)
        cwd = state  # never the repository: `-m` puts the cwd first on sys.path
    prefix = command or (sys.executable, "-m", "engine.cli")
    argv = (*prefix, "run-once", "--repo", str(repo), "--json")
    if workers > 1:  # an older runtime (self-hosting pin) without the option runs serially
        argv += ("--workers", str(workers))
    return CycleLaunch(argv=argv, cwd=cwd, env=env, runtime=runtime_sha)


@dataclass(frozen=True)
class CycleOutcome:
    """A finished child, judged. ``outcome`` is run-once's, or one of the daemon's own:
    ``interrupted`` (the daemon stopped it), ``timeout``, ``busy`` (a cycle started outside
    the daemon holds the lock), ``bad-config`` (exit 2), ``crashed``."""

    outcome: str
    report: dict[str, Any] | None
    result: ChildResult

    @property
    def completed(self) -> bool:
        """The cycle ran to its end (whatever it decided)."""
        return self.report is not None and self.result.returncode in _FINISHED

    @property
    def failed(self) -> bool:
        """Counts against the revision that ran it (self-hosting rollback)."""
        return self.outcome in ("error", "timeout", "crashed", "bad-config")

    @property
    def crashed(self) -> bool:
        return self.outcome == "crashed"

    @property
    def message(self) -> str:
        if self.result.interrupted is not None:
            return f"stopped by the daemon: {self.result.interrupted}"
        if self.result.timed_out:
            return f"killed after the cycle timeout ({self.result.seconds:.0f}s)"
        if self.report is not None:
            return str(self.report.get("message") or "")
        tail = (self.result.stderr.strip() or self.result.error).splitlines()[-2:]
        return " | ".join(tail)[-300:]


def judge(result: ChildResult) -> CycleOutcome:
    report = result.last_json
    if result.interrupted is not None:
        return CycleOutcome("interrupted", report, result)
    if result.timed_out:
        return CycleOutcome("timeout", report, result)
    if result.returncode in _FINISHED and report is not None:
        return CycleOutcome(str(report.get("outcome") or "error"), report, result)
    if result.returncode == EXIT_LOCKED:  # another cycle holds the cycle lock
        return CycleOutcome("busy", None, result)
    if result.returncode == EXIT_CONFIG:
        return CycleOutcome("bad-config", None, result)
    return CycleOutcome("crashed", report, result)
