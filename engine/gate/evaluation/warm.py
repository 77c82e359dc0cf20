"""Warm starts: sandboxed pytest runs started before the candidate they run exists.

A sandboxed pytest run spends its first ~0.15-0.25 s (2 cores) on things no candidate
changes: bubblewrap, the interpreter, importing coverage and pytest with pytest's own
plugins. So ``run-once`` starts :data:`SLOTS` sandboxes as soon as it has its directives
(:func:`warm_up`), while ratchet itself is still importing, making the worktree and
applying the plan: each runs :mod:`ratchet_warm`, which imports those modules and waits
on stdin. The first test runs of the cycle take one each (:func:`scratch`: the traced
reaching run and the untraced suite beside it, or a baseline's whole suite): its
directories (``out`` and ``work``, bound when it started, empty until the run copies the
checkout in) and, when the run fits what it was started for, its process — the run's
module, arguments, ``PYTHONPATH`` and ``RATCHET_*`` variables (read by our plugins only
once the run has started) go to its stdin and it runs them as ``python -m`` would; the
time limit counts from then.

A run fits when it is ``<this interpreter> -m MODULE ...`` in the same runner (mode,
limits), with the same directories, the same environment but for ``RATCHET_*`` and
``PYTHONPATH`` (a ``src/`` layout's; the sandbox rebuilds ``sys.path`` from it as the
interpreter's start would have), from a thread that is not niced, and no
``pytest``/``coverage`` module of the checkout or of that path would shadow the ones
imported ahead. Anything else ends the warm process and the run starts
cold, as before, in the same directories. Binds, limits, pids group and isolation are the
run's own from the start; the candidate's code only arrives with the copy. Slots nobody
took end with the process (``atexit``; their sandbox also dies with its parent).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from engine.gate.evaluation.autogroup import thread_niceness
from engine.gate.evaluation.process import RunResult, collect, discard
from engine.gate.evaluation.sandbox import Prestarted, SandboxRunner
from engine.gate.evaluation.sandboxed import DIR
from engine.gate.evaluation.scratchroot import scratch_dir

SLOTS = 2  # the traced reaching run and the untraced suite start at once
SCRIPT = DIR / "ratchet_warm.py"
PASSED_LATER = "RATCHET_"  # variables the run hands over with its command
PATH = "PYTHONPATH"  # handed over too: the sandbox rebuilds sys.path from it
SHADOWS = ("pytest", "_pytest", "coverage")  # imported ahead: a checkout's own would win cold

_lock = threading.Lock()
_idle: list[_Warm] = []
_hooked: list[bool] = []


class _Warm:
    """One sandbox started ahead, its directories and its process."""

    def __init__(self, runner: SandboxRunner, tmp: TemporaryDirectory[str]) -> None:
        self.runner = runner
        self.tmp = tmp
        self.root = Path(tmp.name)
        self.out, self.work = self.root / "out", self.root / "work"
        self.out.mkdir()
        self.work.mkdir()
        self.started: Prestarted | None = runner.prestart(
            [sys.executable, str(SCRIPT)], cwd=self.work, writable=[self.out],
            readable=[DIR], env={"PYTHONPATH": str(DIR)},
        )  # fmt: skip

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
        """The run, by this sandbox when it fits (module doc); None: ended, start it cold."""
        started, self.started = self.started, None
        if started is None:
            return None
        spec = self._spec(runner, argv, cwd, writable, readable, full_env, started.env)
        proc = started.proc
        if spec is None or proc.poll() is not None or proc.stdin is None:
            self._end(started)
            return None
        start = time.monotonic()
        try:
            proc.stdin.write(json.dumps(spec).encode() + b"\n")
            proc.stdin.close()
        except OSError:
            self._end(started)
            return None
        try:
            return collect(proc, start=start, timeout=timeout, cancel=cancel)
        finally:
            if started.group is not None:
                started.group.remove()

    def _spec(
        self,
        runner: SandboxRunner,
        argv: Sequence[str],
        cwd: Path,
        writable: Sequence[Path],
        readable: Sequence[Path],
        full_env: dict[str, str],
        env: dict[str, str],
    ) -> dict[str, object] | None:
        if runner != self.runner or thread_niceness() != 0:
            return None
        if cwd != self.work.resolve() or [Path(w).resolve() for w in writable] != [
            self.out.resolve()
        ]:
            return None
        if [Path(r).resolve() for r in readable] != [DIR]:
            return None
        if len(argv) < 3 or argv[0] != sys.executable or argv[1] != "-m":
            return None
        later = {k: v for k, v in full_env.items() if k.startswith(PASSED_LATER) or k == PATH}
        if {k: v for k, v in full_env.items() if k not in later} != {
            k: v for k, v in env.items() if k != PATH
        }:
            return None
        roots = [cwd, *(Path(p) for p in later.get(PATH, "").split(os.pathsep) if p)]
        if any(_shadows(root) for root in roots if root != DIR):
            return None
        # None: unset (the sandbox started with one; a run without it must not inherit it)
        handed: dict[str, str | None] = {PATH: None, **later}
        return {"module": argv[2], "args": list(argv[3:]), "env": handed}

    def _end(self, started: Prestarted) -> None:
        discard(started.proc)
        if started.group is not None:
            started.group.remove()

    def close(self) -> None:
        """End the process if no run took it, and remove the directories."""
        started, self.started = self.started, None
        if started is not None:
            self._end(started)
        self.tmp.cleanup()


def _shadows(root: Path) -> bool:
    """Would a module under ``root`` win over one imported ahead (module doc)?"""
    return any((root / f"{name}.py").exists() or (root / name).is_dir() for name in SHADOWS)


def warm_up(runner: SandboxRunner, slots: int = SLOTS) -> None:
    """Start ``slots`` sandboxes for the coming test runs of ``runner``."""
    made = [_Warm(runner, scratch_dir("ratchet-warm-")) for _ in range(slots)]
    with _lock:
        _idle.extend(w for w in made if w.started is not None)
        if not _hooked:
            _hooked.append(True)
            atexit.register(close_all)
    for w in made:
        if w.started is None:
            w.close()


def close_all() -> None:
    """End every slot nobody took."""
    with _lock:
        idle = list(_idle)
        _idle.clear()
    for w in idle:
        w.close()


def _take(runner: SandboxRunner) -> _Warm | None:
    with _lock:
        for i, w in enumerate(_idle):
            if w.runner == runner:
                return _idle.pop(i)
    return None


@contextmanager
def scratch(runner: SandboxRunner, prefix: str) -> Iterator[tuple[Path, _Warm | None]]:
    """A throwaway directory for one test run and, when a slot of ``runner`` is idle, the
    warm start that goes with it (pass it to :meth:`SandboxRunner.run`); the run makes
    ``out`` and ``work`` in it unless they exist (a slot's do)."""
    warm = _take(runner) if thread_niceness() == 0 else None
    if warm is None:
        with scratch_dir(prefix) as tmp:
            yield Path(tmp), None
        return
    try:
        yield warm.root, warm
    finally:
        warm.close()
