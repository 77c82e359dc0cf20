"""Niceness that reaches the scheduler across sessions (Linux autogroups).

The evaluation runs work nobody waits for first (the static probes, the behaviour
recording) at a higher niceness than the runs a verdict waits on
(:data:`engine.gate.evaluation.background.BEHIND`). But every run starts a new session
(``start_new_session``, so its whole tree can be killed; bubblewrap's ``--new-session``
inside the sandbox), and where the kernel groups tasks by session
(``CONFIG_SCHED_AUTOGROUP``, ``/proc/sys/kernel/sched_autogroup_enabled`` = 1: the default
of most distributions) the CPU is shared between those groups first and niceness counts
only inside a group. Each run is its own group, so a niced run got as much CPU as the
untraced suite or the fail-fast reaching run beside it: on 2 cores with four runs, the
reaching run of a breaking candidate took twice as long as alone.

A session's group has a niceness of its own, written to ``/proc/<pid>/autogroup``. So a
niced run gives its new session the niceness of the thread that started it:

- a direct run (a host tool, the ``unsafe-none`` sandbox): :func:`follow_thread`, from
  ratchet, once the child has started (it has called ``setsid`` by then);
- a bubblewrap run: the command inside is prefixed by :func:`inside` (``python -S -I``,
  ~9 ms, only when niced), because bwrap's own ``--new-session`` makes a group ratchet
  cannot name.

Best effort: no autogroups (another kernel, a cpu cgroup), no permission, or the kernel's
limit of one unprivileged change per 100 ms system-wide (``EAGAIN``, retried a few times)
leaves the run as it was: slower beside others, never wrong. Nothing here is judged.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections.abc import Sequence

RETRIES = 8  # EAGAIN: the kernel allows one unprivileged change per 100 ms system-wide
RETRY_SECONDS = 0.025

_INSIDE = f"""\
import errno, os, sys, time
for _ in range({RETRIES}):
    try:
        with open("/proc/self/autogroup", "w") as fh:
            fh.write(sys.argv[1])
        break
    except OSError as exc:
        if exc.errno != errno.EAGAIN:
            break
        time.sleep({RETRY_SECONDS})
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    sys.stderr.write(f"ratchet: cannot start {{sys.argv[2]}}: {{exc}}\\n")
    sys.exit(127)
"""


def thread_niceness() -> int:
    """The calling thread's niceness (0 where the platform cannot say)."""
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (AttributeError, OSError):
        return 0


def follow_thread(pid: int) -> None:
    """Give the session group of ``pid`` the calling thread's niceness, when positive."""
    nice = thread_niceness()
    if nice > 0:
        _write(f"/proc/{pid}/autogroup", nice)


def inside(argv: Sequence[str]) -> list[str]:
    """``argv`` as a sandbox runs it: first setting its session group's niceness to the
    calling thread's, when positive; unchanged otherwise."""
    nice = thread_niceness()
    if nice <= 0:
        return list(argv)
    return [sys.executable, "-S", "-I", "-c", _INSIDE, str(nice), *argv]


def _write(path: str, nice: int) -> None:
    for _ in range(RETRIES):
        try:
            with open(path, "w") as fh:
                fh.write(str(nice))
            return
        except OSError as exc:
            if exc.errno != errno.EAGAIN:
                return
            time.sleep(RETRY_SECONDS)
