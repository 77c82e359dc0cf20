"""Limits applied between fork and exec without running Python in a forked thread.

A sandboxed run's rlimits (and its pids cgroup) used to be set by a ``preexec_fn``. With
one, CPython forks through its own at-fork path: the before-fork hooks take logging's lock
and the import lock, in whichever thread is forking. ratchet forks from several threads at
once (the untraced suite, the reaching run, the behaviour recording, the static probes'
tools), and a run-once hung forever that way in CI (tests/test_fault_injection.py: three
threads each waiting on a lock another held, no child started). Python's documentation
says the same: ``preexec_fn`` is not safe in the presence of threads.

So the child execs a tiny launcher instead (``python -S -I -c``, ~9 ms): it joins the
cgroup, lowers each limit (never raising a hard one) and execs the command. No Python code
runs in the forked copy of ratchet, and ``subprocess`` can use its fast spawn path.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Sequence

from engine.model import Limits

_MB = 1024 * 1024

_CODE = """\
import json, os, resource, sys
spec = json.loads(sys.argv[1])
try:
    if spec["group"]:
        try:
            with open(spec["group"] + "/cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))
        except OSError:
            pass
    for res, soft, hard in spec["limits"]:
        _, current = resource.getrlimit(res)
        if current != resource.RLIM_INFINITY:
            hard = min(hard, current)
        resource.setrlimit(res, (min(soft, hard), hard))
    os.execvp(sys.argv[2], sys.argv[2:])
except Exception as exc:
    sys.stderr.write(f"ratchet launcher: cannot start {sys.argv[2]}: {exc}\\n")
    sys.exit(127)
"""


def wanted_limits(limits: Limits) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) for each rlimit a sandboxed run gets."""
    return [
        (resource.RLIMIT_AS, limits.memory_mb * _MB, limits.memory_mb * _MB),
        # the soft CPU limit sends SIGXCPU; the hard one, a little later, SIGKILL
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * _MB, limits.file_size_mb * _MB),
        (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (resource.RLIMIT_NPROC, limits.processes, limits.processes),
        (resource.RLIMIT_CORE, 0, 0),  # no core dumps (SIGXCPU, ...) in the worktree
    ]


def launched(argv: Sequence[str], limits: Limits, group: str | None = None) -> list[str]:
    """``argv`` run through the launcher: in the cgroup at ``group`` (a directory) when
    given, under ``limits``."""
    spec = json.dumps({"group": group or "", "limits": wanted_limits(limits)})
    return [sys.executable, "-S", "-I", "-c", _CODE, spec, *argv]
