"""Run one process group to completion: bounded output, wall-clock timeout, no leftovers.

This is the one place that spawns and reaps processes for the evaluation package. It knows
nothing about sandboxes: :mod:`engine.gate.evaluation.sandbox` builds the argv, environment and
rlimits; this module only runs them.

Guarantees of :func:`run_captured`:

- the child starts in a new session (its own process group) with stdin at /dev/null;
- stdout and stderr are read concurrently (one ``selectors`` loop, no deadlock) and only
  their last ``tail_bytes`` are kept, so a chatty child cannot exhaust our memory;
- at the deadline every descendant is frozen (SIGSTOP, so a fork bomb cannot outrun us),
  then the whole group and each descendant get SIGKILL;
- when the child exits normally, whatever is left in its process group is killed too;
- it never raises for a child's behaviour: a program that cannot start yields returncode 127.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.gate.evaluation.autogroup import follow_thread
from engine.gate.timing import observe_output

TAIL_BYTES = 200_000  # per stream
DRAIN_GRACE = 1.0  # seconds to keep reading after the child exited or was killed
_READ_CHUNK = 65536
_POLL = 0.25  # seconds between checks of the deadline while the run is silent
_CANCEL_POLL = 0.005  # the same for a run that may be cancelled: a rejection waits for it


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What one run did. ``stdout``/``stderr`` are tails (see ``TAIL_BYTES``)."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False
    duration: float = 0.0
    killed_by_signal: int | None = None
    cancelled: bool = False  # killed because the caller's ``cancel`` event was set

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class _Tail:
    """The last ``cap`` bytes of a stream, plus how many bytes were dropped before them."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > 2 * self.cap:  # trim in batches: amortised O(1) per byte
            cut = len(self.buf) - self.cap
            del self.buf[:cut]
            self.dropped += cut

    def text(self) -> str:
        extra = max(0, len(self.buf) - self.cap)
        body = bytes(self.buf[extra:]).decode("utf-8", errors="replace")
        dropped = self.dropped + extra
        return f"[... {dropped} bytes dropped ...]\n{body}" if dropped else body


def run_captured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    tail_bytes: int = TAIL_BYTES,
    cancel: threading.Event | None = None,
    nice_session: bool = True,
) -> RunResult:
    """Run ``argv`` in ``cwd`` with exactly ``env``; kill its process tree at ``timeout``,
    or as soon as ``cancel`` is set (``RunResult.cancelled``: another run made it moot).
    ``nice_session``: the run's new session group gets the calling thread's niceness
    (:mod:`engine.gate.evaluation.autogroup`; off where the caller sets it inside)."""
    start = time.monotonic()
    proc = started(argv, cwd=cwd, env=env, nice_session=nice_session)
    if isinstance(proc, RunResult):
        return proc
    return collect(proc, start=start, timeout=timeout, tail_bytes=tail_bytes, cancel=cancel)


def started(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    nice_session: bool = True,
    stdin_pipe: bool = False,
) -> subprocess.Popen[bytes] | RunResult:
    """``argv`` started as :func:`run_captured` starts it (its result when it cannot
    start); ``stdin_pipe``: stdin is a pipe the caller writes (a warm start's command,
    :mod:`engine.gate.evaluation.warm`), not /dev/null."""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,  # no preexec_fn: unsafe with threads (engine.gate.evaluation.launcher)
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return RunResult(
            returncode=127,
            stdout="",
            stderr=f"cannot start {argv[0] if argv else '<empty argv>'}: {exc}\n",
            duration=time.monotonic() - start,
        )
    if nice_session:
        follow_thread(proc.pid)
    return proc


def collect(
    proc: subprocess.Popen[bytes],
    *,
    start: float,
    timeout: float,
    tail_bytes: int = TAIL_BYTES,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Wait for a :func:`started` process as :func:`run_captured` does, its deadline
    ``timeout`` after ``start`` (a monotonic time); its output is read from now on."""
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Tail(tail_bytes), _Tail(tail_bytes)
    tails = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    with selectors.DefaultSelector() as sel:
        for fd in tails:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        try:
            stopped = _wait(proc.pid, sel, tails, deadline=start + timeout, cancel=cancel)
        except BaseException:
            # SIGTERM of ratchet itself (raised as an exception) or Ctrl-C: the run dies too.
            _kill_tree(proc.pid)
            _kill_group(proc.pid)
            proc.wait()
            raise
        if stopped:
            _kill_tree(proc.pid)
        _kill_group(proc.pid)  # nothing the run started outlives it
        proc.wait()
        _pump(sel, tails, until=time.monotonic() + DRAIN_GRACE)
    proc.stdout.close()
    proc.stderr.close()
    rc = proc.returncode
    cancelled = stopped and cancel is not None and cancel.is_set()
    timed_out = stopped and not cancelled
    return RunResult(
        returncode=rc,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
        duration=time.monotonic() - start,
        killed_by_signal=-rc if rc < 0 else None,
        cancelled=cancelled,
    )


def discard(proc: subprocess.Popen[bytes]) -> None:
    """End a :func:`started` process nobody will :func:`collect`: its whole tree killed,
    reaped, its pipes closed."""
    _kill_tree(proc.pid)
    _kill_group(proc.pid)
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _wait(
    pid: int,
    sel: selectors.BaseSelector,
    tails: dict[int, _Tail],
    deadline: float,
    cancel: threading.Event | None = None,
) -> bool:
    """Read output until the child exits (True if the deadline or ``cancel`` came first)."""
    exited_at: float | None = None
    while True:
        now = time.monotonic()
        if _has_exited(pid):
            if not sel.get_map():
                return False
            if exited_at is None:
                # the child is gone but something still holds its pipes: end that too
                exited_at = now
                _kill_group(pid)
            elif now - exited_at > DRAIN_GRACE:
                return False
        elif now >= deadline or (cancel is not None and cancel.is_set()):
            return True
        poll = _POLL if cancel is None else _CANCEL_POLL
        step = min(deadline - now, poll) if exited_at is None else 0.05
        if sel.get_map():
            _pump(sel, tails, until=now + max(step, 0.0), once=True)
        else:
            time.sleep(min(max(step, 0.0), 0.02))


def _pump(
    sel: selectors.BaseSelector, tails: dict[int, _Tail], until: float, once: bool = False
) -> None:
    """Move available output into the tails; unregister streams at EOF."""
    while sel.get_map():
        remaining = until - time.monotonic()
        if remaining <= 0 and not once:
            return
        events = sel.select(max(remaining, 0.0))
        for key, _ in events:
            fd = int(key.fd)
            try:
                data = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                continue
            if data:
                tails[fd].feed(data)
                observe_output(data)  # live progress (pytest's [ 45%]) for the display
            else:
                sel.unregister(fd)
        if once or not events:
            return


def _has_exited(pid: int) -> bool:
    """True once the child is a zombie; it is not reaped, so its pgid stays reserved."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_tree(pid: int) -> None:
    """Freeze every descendant (repeat until no new ones appear), then kill them all.

    Descendants may have left the process group (``setsid``, bubblewrap's ``--new-session``),
    so they are found through ``/proc`` parent links rather than the group.
    """
    frozen: set[int] = set()
    for _ in range(50):
        fresh = [p for p in _descendants(pid) if p not in frozen]
        if not fresh:
            break
        for p in fresh:
            _signal(p, signal.SIGSTOP)
        frozen.update(fresh)
    _kill_group(pid)
    for p in frozen:
        _signal(p, signal.SIGKILL)
        _signal(p, signal.SIGCONT)  # SIGKILL wins; CONT only matters on odd kernels


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _descendants(root: int) -> list[int]:
    """Pids whose parent chain leads to ``root`` (read from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
