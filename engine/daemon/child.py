"""Runs one child process (a cycle, a canary step) so that nothing it does can hurt the daemon.

- its own session and process group, so the whole tree can be signalled at once;
- it dies with the daemon: a tiny launcher sets ``PR_SET_PDEATHSIG`` before ``exec`` (done in
  the child, not with ``preexec_fn``, which is unsafe in a process with threads);
- a wall-clock limit; on timeout or on request (daemon stopping, pause) the group gets SIGTERM,
  a grace period to unwind and clean its worktree, then SIGKILL;
- after the child exits, whatever it left in its group (leaked ``git cat-file``, a hung test)
  is killed too;
- stdout/stderr go to files under ``.ratchet/``, so no pipe can fill up and block it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.cli.exits import EXIT_ORPHANED

# Runs in the child before exec: die (SIGTERM, so run-once can still clean up) with the daemon.
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))\n"  # PR_SET_PDEATHSIG
    "except Exception:\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    f"    sys.exit({EXIT_ORPHANED})\n"  # the daemon died before we got here
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)

POLL = 0.1


@dataclass(frozen=True, kw_only=True)
class ChildResult:
    """What a child did. ``returncode`` is None only if it could not be started."""

    argv: tuple[str, ...]
    returncode: int | None
    seconds: float
    stdout: str = ""  # the last 64 KiB
    stderr: str = ""  # the last 16 KiB
    timed_out: bool = False
    interrupted: str | None = None  # why the daemon stopped it early
    killed: bool = False  # it needed SIGKILL
    pid: int = 0
    error: str = ""  # could not start

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.interrupted is None

    @property
    def last_json(self) -> dict[str, Any] | None:
        """The last stdout line that is a JSON object (the run-once ``--json`` contract)."""
        return last_json_object(self.stdout)


@dataclass(frozen=True, kw_only=True)
class ChildSpec:
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)  # the whole environment
    timeout: float = 3600.0
    grace: float = 20.0  # SIGTERM -> SIGKILL
    output: Path | None = None  # stdout/stderr go to output.out / output.err


def last_json_object(text: str) -> dict[str, Any] | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def run_child(
    spec: ChildSpec,
    should_stop: Callable[[], str | None] = lambda: None,
    on_start: Callable[[int], None] = lambda pid: None,
    on_tick: Callable[[], None] = lambda: None,
) -> ChildResult:
    """Run ``spec`` to completion, timeout, or until ``should_stop()`` returns a reason.

    ``on_start(pid)`` is called once the child runs (its pid is its process group);
    ``on_tick`` about every 0.1 s while it runs. Never raises for the child's faults.
    """
    out_path, err_path = _outputs(spec)
    argv = (sys.executable, "-c", _LAUNCHER, str(os.getpid()), *spec.argv)
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
                argv,
                cwd=spec.cwd,
                env=dict(spec.env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            return ChildResult(argv=spec.argv, returncode=None, seconds=0.0, error=str(exc))
        on_start(proc.pid)
        timed_out = False
        interrupted: str | None = None
        killed = False
        while proc.poll() is None:
            if time.monotonic() - start > spec.timeout:
                timed_out = True
            elif (reason := should_stop()) is not None:
                interrupted = reason
            if timed_out or interrupted:
                killed = terminate_group(proc, spec.grace)
                break
            on_tick()
            time.sleep(POLL)
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers: leaked helpers, hung grandchildren
    return ChildResult(
        argv=spec.argv,
        returncode=proc.returncode,
        seconds=time.monotonic() - start,
        stdout=_tail(out_path, 65536),
        stderr=_tail(err_path, 16384),
        timed_out=timed_out,
        interrupted=interrupted,
        killed=killed,
        pid=proc.pid,
    )


def terminate_group(proc: subprocess.Popen[bytes], grace: float) -> bool:
    """SIGTERM the child's group, wait up to ``grace`` s, then SIGKILL. True if it needed it."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
        return False
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def kill_stale_group(pgid: int, grace: float = 10.0) -> bool:
    """A cycle group left by a daemon that died (``kill -9``): SIGTERM, then SIGKILL.
    True if a group existed."""
    if not _signal_group(pgid, signal.SIGTERM):
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _signal_group(pgid, 0):
            return True
        time.sleep(POLL)
    _signal_group(pgid, signal.SIGKILL)
    return True


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _outputs(spec: ChildSpec) -> tuple[Path, Path]:
    if spec.output is None:
        base = Path(os.devnull)
        return base, base
    spec.output.parent.mkdir(parents=True, exist_ok=True)
    return spec.output.with_suffix(".out"), spec.output.with_suffix(".err")


def _tail(path: Path, size: int) -> str:
    if str(path) == os.devnull:
        return ""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            length = handle.tell()
            handle.seek(max(0, length - size))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def process_cmdline(pid: int) -> list[str] | None:
    """The argv of a live process (Linux ``/proc``), or None when it is gone or unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]


def is_cycle_of(pid: int, repo: Path) -> bool:
    """True when ``pid`` runs ``engine.cli`` on ``repo`` (a cycle, or a canary step in one of
    its scratch clones): safe to signal as ours."""
    argv = process_cmdline(pid)
    if not argv or not any("engine.cli" in a for a in argv):
        return False
    return any(a == str(repo) or a.startswith(f"{repo}/.ratchet/") for a in argv)
