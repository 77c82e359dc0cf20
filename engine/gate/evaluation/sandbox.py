"""The sandbox: the only way candidate code is run.

``SandboxRunner(mode="bwrap")`` wraps every command in bubblewrap:

- ``--unshare-all`` (no network, own PID/IPC/UTS namespaces), ``--cap-drop ALL`` (no
  capability survives, even when ratchet runs as root), ``--die-with-parent``,
  ``--new-session`` (no terminal injection);
- the host root read-only (``--ro-bind / /``), fresh ``/dev`` (read-only but for a small
  ``/dev/shm``), ``/proc`` and ``/tmp`` (a tmpfs of ``limits.memory_mb``: tmpfs is RAM);
- ``/root``, ``/home`` and ``/run`` (user files, secrets, unix sockets) hidden by empty
  tmpfs mounts, with the interpreter (``sys.prefix``, ``sys.base_prefix``,
  ``sys.exec_prefix``, site-packages) bound back read-only when it lives under one of them;
- ``cwd`` and ``writable`` bound read-write *after* those tmpfs mounts (a later mount hides
  an earlier one at the same place, so order matters);
- ``--clearenv`` then a fixed environment (:func:`sandbox_env`) plus the caller's ``env``:
  nothing from ``os.environ`` gets in.

Both modes apply the rlimits of :class:`engine.model.Limits` to the child (address space,
CPU, file size, open files, processes) and kill the whole process tree at the wall-clock
timeout (see :mod:`engine.gate.evaluation.process`). RLIMIT_NPROC does not bind root: where a
pids cgroup can be created, each run also gets one (:mod:`engine.gate.evaluation.cgroup`);
otherwise the PID namespace and the timeout are what contain a fork bomb.

``mode="unsafe-none"`` runs the command directly (same rlimits, timeout and cleared
environment, but no filesystem or network isolation); directives must ask for it by name.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
import site
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from engine.errors import SandboxError
from engine.gate.evaluation.autogroup import inside
from engine.gate.evaluation.cgroup import PidsGroup, create_pids_group
from engine.gate.evaluation.launcher import launched
from engine.gate.evaluation.process import RunResult, run_captured, started
from engine.model import Limits

__all__ = ["RunResult", "SandboxRunner", "probe_sandbox", "sandbox_env", "SandboxMode"]

SandboxMode = Literal["bwrap", "unsafe-none"]
MODES: tuple[str, ...] = ("bwrap", "unsafe-none")

# Hidden behind empty tmpfs mounts: home directories (keys, tokens, configs), the host's /tmp,
# and /run (unix sockets such as docker.sock stay connectable through a read-only bind).
HIDDEN_DIRS: tuple[str, ...] = ("/tmp", "/root", "/home", "/run")
# tmpfs mounts live in the host's RAM and default to half of it: every one gets a size.
HIDDEN_BYTES = 1024 * 1024  # /root, /home, /run: nothing should be written there
SHM_BYTES = 64 * 1024 * 1024  # /dev/shm (multiprocessing semaphores and the like)
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_PROBE_TIMEOUT = 20.0
_MB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class SandboxRunner:
    """Runs commands in the configured sandbox. Construction does no I/O."""

    mode: SandboxMode = "bwrap"
    limits: Limits = field(default_factory=Limits)
    bwrap: str = "bwrap"  # executable name or path

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"SandboxRunner.mode: {self.mode!r} is not one of {MODES}")

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path] = (),
        readable: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        timeout: float,
        cancel: threading.Event | None = None,
        warm: WarmStart | None = None,
    ) -> RunResult:
        """Run ``argv`` in ``cwd``; only ``cwd`` and ``writable`` can be written; killed at
        ``timeout`` or once ``cancel`` is set.

        ``readable`` are extra paths bound read-only (useful when they sit under a hidden
        directory). In ``unsafe-none`` mode ``writable``/``readable`` are not enforced.
        Raises :class:`SandboxError` in ``bwrap`` mode when bubblewrap does not work here;
        everything the command itself does is reported in the :class:`RunResult`.
        ``warm``: a sandbox started ahead (:meth:`prestart`) that runs ``argv`` when it was
        started for exactly this run (same runner, directories and environment), else it
        is ended and ``argv`` starts as usual (:mod:`engine.gate.evaluation.warm`).
        """
        cwd = Path(cwd).resolve()
        full_env = {**sandbox_env(), **(env or {})}
        if warm is not None:
            result = warm.go(self, argv, cwd, writable, readable, full_env, timeout, cancel)
            if result is not None:
                return self._said(result)
        group = create_pids_group(self.limits.processes)
        try:
            where = str(group.path) if group is not None else None
            launch, launch_env, nice = self._launch(argv, cwd, full_env, where, writable, readable)
            result = run_captured(
                launch, cwd=cwd, env=launch_env, timeout=timeout, cancel=cancel,
                nice_session=nice,
            )  # fmt: skip
            return self._said(result)
        finally:
            if group is not None:
                group.remove()

    def prestart(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path] = (),
        readable: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
    ) -> Prestarted | None:
        """``command`` started now as :meth:`run` would start it, stdin a pipe, its pids
        group made (the caller removes it); None where the sandbox cannot start here (the
        run itself then says why)."""
        cwd = Path(cwd).resolve()
        full_env = {**sandbox_env(), **(env or {})}
        if self.mode == "bwrap" and _bwrap_setup(self.bwrap).reason is not None:
            return None
        group = create_pids_group(self.limits.processes)
        where = str(group.path) if group is not None else None
        launch, launch_env, nice = self._launch(command, cwd, full_env, where, writable, readable)
        proc = started(launch, cwd=cwd, env=launch_env, nice_session=nice, stdin_pipe=True)
        if isinstance(proc, RunResult):
            if group is not None:
                group.remove()
            return None
        return Prestarted(proc=proc, group=group, env=full_env)

    def _launch(
        self,
        argv: Sequence[str],
        cwd: Path,
        full_env: dict[str, str],
        group: str | None,
        writable: Sequence[Path],
        readable: Sequence[Path],
    ) -> tuple[list[str], dict[str, str], bool]:
        """The host command that runs ``argv`` in this sandbox, its environment, and
        whether the caller gives its session the thread's niceness."""
        if self.mode == "unsafe-none":
            return launched(argv, self.limits, group), full_env, True
        setup = _bwrap_setup(self.bwrap)
        if setup.reason is not None:
            raise SandboxError(f"{setup.reason}; install bubblewrap or set `sandbox: unsafe-none`")
        wrapped = bwrap_argv(
            inside(argv),  # bwrap's --new-session: a session group only the inside can name
            bwrap=setup.exe,
            extra=setup.flags,
            cwd=cwd,
            writable=[cwd, *(Path(w).resolve() for w in writable)],
            readable=[Path(r).resolve() for r in readable],
            env=full_env,
            tmp_bytes=self.limits.memory_mb * _MB,
        )
        # bwrap itself gets no environment: the sandboxed one is passed with --setenv
        return launched(wrapped, self.limits, group), {}, False

    def _said(self, result: RunResult) -> RunResult:
        if self.mode == "bwrap" and result.killed_by_signal is None and result.returncode > 128:
            # bwrap reports a child killed by signal N as exit status 128 + N
            result = dataclasses.replace(result, killed_by_signal=result.returncode - 128)
        return result


@dataclass(frozen=True)
class Prestarted:
    """A sandboxed process started ahead of its run (:meth:`SandboxRunner.prestart`)."""

    proc: subprocess.Popen[bytes]
    group: PidsGroup | None
    env: dict[str, str]  # the whole environment it started with


class WarmStart(Protocol):
    """What :meth:`SandboxRunner.run` asks of a warm start (:mod:`engine.gate.evaluation.warm`)."""

    def go(
        self,
        runner: SandboxRunner,
        argv: Sequence[str],
        cwd: Path,
        writable: Sequence[Path],
        readable: Sequence[Path],
        full_env: dict[str, str],
        timeout: float,
        cancel: threading.Event | None,
    ) -> RunResult | None:
        """The run's result, or None (ended unused) when it was not started for this run."""
        ...


def sandbox_env() -> dict[str, str]:
    """The whole environment of a sandboxed process, before the caller's additions."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{SYSTEM_PATH}",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",  # keep the worktree free of __pycache__
        "PYTHONHASHSEED": "0",  # reproducible set/dict order across baseline and candidate
    }


def bwrap_argv(
    argv: Sequence[str],
    *,
    bwrap: str,
    cwd: Path,
    writable: Sequence[Path],
    readable: Sequence[Path],
    env: Mapping[str, str],
    extra: Sequence[str] = (),
    tmp_bytes: int = 1024 * _MB,
) -> list[str]:
    """The bubblewrap command line for ``argv``; ``extra`` flags go before the mounts.
    ``tmp_bytes`` is the size of the sandbox's private ``/tmp``."""
    args = [bwrap, *extra, *_isolation_args(tmp_bytes)]
    for directory in _dedupe(interpreter_dirs() + [Path(r) for r in readable]):
        args += ["--ro-bind", str(directory), str(directory)]
    for directory in _dedupe([Path(w) for w in writable]):
        args += ["--bind", str(directory), str(directory)]
    args += ["--chdir", str(cwd), "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


def _isolation_args(tmp_bytes: int = 1024 * _MB) -> list[str]:
    # --cap-drop ALL: run as root, bwrap keeps every capability inside its namespaces, and
    # CAP_SYS_ADMIN there can unmount the tmpfs that hides /root, /home and /tmp.
    args = ["--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # /dev is a writable tmpfs as big as half the RAM: a small /dev/shm, the rest read-only
    args += ["--size", str(SHM_BYTES), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
    for hidden in HIDDEN_DIRS:
        if Path(hidden).is_dir() and not Path(hidden).is_symlink():
            size = tmp_bytes if hidden == "/tmp" else HIDDEN_BYTES
            args += ["--size", str(size), "--tmpfs", hidden]
    return args


def interpreter_dirs() -> list[Path]:
    """Interpreter directories that a hidden directory would otherwise cover."""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()]
    hidden = [Path(h) for h in HIDDEN_DIRS]
    out = []
    for raw in candidates:
        path = Path(raw).resolve()
        if path.is_dir() and any(path.is_relative_to(h) for h in hidden):
            out.append(path)
    return out


def _dedupe(paths: Sequence[Path]) -> list[Path]:
    """Unique paths in order, dropping any path inside an earlier-listed one."""
    out: list[Path] = []
    for path in paths:
        if not any(path == seen or path.is_relative_to(seen) for seen in out):
            out.append(path)
    return out


def probe_sandbox(bwrap: str = "bwrap") -> str | None:
    """None when bubblewrap works here, else why not. Tried once per process and path."""
    return _bwrap_setup(bwrap).reason


@dataclass(frozen=True)
class _BwrapSetup:
    reason: str | None  # None: works
    exe: str = ""  # resolved path (bwrap itself runs with an empty environment)
    flags: tuple[str, ...] = ()  # the variant that worked


# ``--unshare-all`` already *tries* a user namespace; where bwrap runs as root without
# CAP_SYS_ADMIN (some containers) only an explicit user namespace gives it mount rights.
_VARIANTS: tuple[tuple[str, ...], ...] = ((), ("--unshare-user",))


@functools.cache
def _bwrap_setup(bwrap: str) -> _BwrapSetup:
    exe = shutil.which(bwrap)
    if exe is None:
        return _BwrapSetup(reason=f"bubblewrap ({bwrap}) is not installed")
    true = shutil.which("true") or "/bin/true"
    failures = []
    for flags in _VARIANTS:
        argv = [exe, *flags, *_isolation_args(), "--clearenv", "--", true]
        result = run_captured(argv, cwd=Path("/"), env={}, timeout=_PROBE_TIMEOUT)
        if result.ok:
            return _BwrapSetup(reason=None, exe=exe, flags=flags)
        detail = (result.stderr.strip() or result.stdout.strip())[-300:] or "no output"
        status = "timed out" if result.timed_out else f"exited {result.returncode}"
        failures.append(f"{' '.join(flags) or 'default'}: {status}: {detail}")
    return _BwrapSetup(reason=f"bubblewrap does not work here ({'; '.join(failures)})")
