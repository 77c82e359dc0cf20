"""A pids cgroup per sandboxed run: the process limit that binds root too.

RLIMIT_NPROC is not enforced for uid 0, so when ratchet runs as root a fork bomb inside the
sandbox could fill the host's PID table before the wall-clock timeout ends it. Where a pids
controller is writable (a cgroup v1 ``pids`` hierarchy, or cgroup v2 with ``pids`` enabled
for the children of our own cgroup) every run gets its own child cgroup with
``pids.max = limits.processes``; the child process joins it before it execs the command
(:mod:`engine.gate.evaluation.launcher`), so bubblewrap and everything it starts are counted.

Best effort by design: where no controller is writable (an unprivileged user without
delegation, a read-only cgroupfs), :func:`create_pids_group` returns None and the PID
namespace, RLIMIT_NPROC (for non-root users) and the timeout remain the limits.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_COUNTER = itertools.count()
_REMOVE_WAIT = 5.0  # seconds to wait for killed members to be reaped before giving up
_NAME = re.compile(r"ratchet-(\d+)-\d+")


@dataclass(frozen=True)
class PidsGroup:
    """One child cgroup with a ``pids.max``; the launcher joins it, the rest runs in us."""

    path: Path

    def members(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split() if p.isdigit()]

    def remove(self) -> None:
        """Kill whatever is still in the group, then delete it. A group whose killed members
        are not reaped in time is left behind and swept by a later :func:`create_pids_group`
        once its owner has exited."""
        deadline = time.monotonic() + _REMOVE_WAIT
        pause = 0.001  # killed members are usually reaped within milliseconds
        while True:
            members = self.members()
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.path.rmdir()
                return
            if time.monotonic() > deadline:
                return
            time.sleep(pause)
            pause = min(pause * 2, 0.02)


def create_pids_group(max_pids: int) -> PidsGroup | None:
    """A fresh child cgroup of our own limited to ``max_pids`` tasks; None where impossible."""
    for base in _own_pids_dirs():
        _sweep(base)
        path = base / f"ratchet-{os.getpid()}-{next(_COUNTER)}"
        try:
            path.mkdir()
        except OSError:
            continue
        try:
            (path / "pids.max").write_text(str(max(1, max_pids)))
        except OSError:  # no pids controller in this (v2) subtree
            with contextlib.suppress(OSError):
                path.rmdir()
            continue
        return PidsGroup(path)
    return None


def _sweep(base: Path) -> None:
    """Delete groups left behind by ratchet processes that no longer exist."""
    with contextlib.suppress(OSError):
        for child in base.iterdir():
            match = _NAME.fullmatch(child.name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                with contextlib.suppress(OSError):
                    child.rmdir()


def _own_pids_dirs() -> list[Path]:
    """Directories of this process's cgroup in every hierarchy that may offer ``pids``:
    the v1 ``pids`` hierarchy first, then the v2 unified one."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text()
        membership = Path("/proc/self/cgroup").read_text()
    except OSError:
        return []
    own: dict[str, str] = {}  # "pids" or "" (v2) -> path inside the hierarchy
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                own[controller] = parts[2]
    v1: list[Path | None] = []
    v2: list[Path | None] = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        root, mountpoint = fields[3], fields[4]
        if tail[0] == "cgroup" and "pids" in tail[2].split(",") and "pids" in own:
            v1.append(_inside(Path(mountpoint), root, own["pids"]))
        elif tail[0] == "cgroup2" and "" in own:
            v2.append(_inside(Path(mountpoint), root, own[""]))
    return [p for p in v1 + v2 if p is not None and p.is_dir()]


def _inside(mountpoint: Path, mount_root: str, cgroup_path: str) -> Path | None:
    """Where ``cgroup_path`` (relative to the hierarchy's root) is under ``mountpoint``,
    which shows the hierarchy from ``mount_root`` down; None when it is not visible there."""
    relative = os.path.relpath(cgroup_path, mount_root)
    if relative.startswith(".."):
        return None
    return mountpoint if relative == "." else mountpoint / relative
