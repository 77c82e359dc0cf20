"""The behaviour check of one candidate, started once a core is free, behind its tests.

Recording the changed functions' calls needs only the base commit, the functions and the
tests that reach them — nothing of the candidate's results — but only a candidate whose
tests pass needs it. So it does not start with the candidate's tests: it starts
(:meth:`BehaviourSession.start`) once one of the two runs of the full stage by reach has
passed — the untraced whole suite, or the traced reaching tests with a verdict — and so
left its core free; when the evaluation asks for its result (:meth:`BehaviourSession.
finish`, the evaluation's ``beside``: once the tests that reach the change have passed, or
from the start of a whole suite under coverage) at the latest. With ``ride`` (the full stage
goes by reach), the candidate's traced reaching run records instead
(:mod:`engine.gate.evaluation.riding`: :attr:`BehaviourSession.rider` goes to the
evaluation), and the session replays that recording on a worktree of the base once the
run has ended; it records on the base as before when the traced run never took the
recorder or left no recording, and when the base's recording of these functions is kept
already (``cache``). A breaking candidate's
fail-fast rejection then never shares the CPU with it (2 cores, the generated project of
``benchmarks/fail_fast.py``, 8 rounds interleaved: the reaching run 0.62 -> 0.55 s, the
rejection 1.21 -> 1.11 s; a good candidate no slower). The replay against the candidate follows in
the same thread as soon as the recording ends; both at a lower priority (``BEHIND``) than
the candidate's own test runs. A candidate rejected earlier never waits for it:
:meth:`BehaviourSession.close` cancels the recording or the replay (its sandboxed run is
killed), or drops one never started, and removes the base's worktree.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Sequence
from pathlib import Path

from engine.gate.evaluation.background import BEHIND, Background, lower_this_thread
from engine.gate.evaluation.behaviour import CANDIDATE, BehaviourCheck, FunctionRef, Recording
from engine.gate.evaluation.generated import Generated
from engine.gate.evaluation.probes.command import TestCommand
from engine.gate.evaluation.probes.tests import TestsProbe
from engine.gate.evaluation.recordings import RecordingCache, Stored
from engine.gate.evaluation.riding import Rider
from engine.gate.evaluation.scratchroot import scratch_dir
from engine.gate.timing import step
from engine.model import BehaviourMetrics
from engine.vcs import Repository


class BehaviourSession:
    """Records ``functions`` on ``base`` (a worktree named ``name``) and replays them on
    ``candidate`` (a checkout that no longer changes), from :meth:`start`."""

    def __init__(
        self,
        repo: Repository,
        base: str,
        name: str,
        functions: Sequence[FunctionRef],
        candidate: Path,
        *,
        probe: TestsProbe,
        timeout: float,
        tests: Sequence[str],
        cache: RecordingCache | None = None,
        key: str = "",
        generated: Generated | None = None,
        ride: bool = False,
    ) -> None:
        self._repo = repo
        self._cancel = threading.Event()
        self._tmp = scratch_dir("ratchet-behaviour-")
        self._worktree: Path | None = None
        tmp = Path(self._tmp.name)
        stored = cache.get(key, tmp / "out") if cache is not None else None
        # the candidate's traced run records, unless the base's recording is kept already
        self.rider = Rider(functions, tmp) if ride and stored is None else None

        def check(command: str) -> BehaviourCheck:
            return BehaviourCheck(
                runner=probe.runner, command=TestCommand.parse(command), timeout=timeout,
                tests=tests, rewrites=probe.rewrites,
            )  # fmt: skip

        def base_worktree() -> Path:
            worktree = repo.add_worktree(name, commit=base, branch=None)
            self._worktree = worktree
            if generated is not None:
                generated.write_into(worktree)
            return worktree

        def recorded() -> tuple[BehaviourCheck, Recording]:
            if stored is not None:
                lower_this_thread(BEHIND)
                found = Recording(
                    tmp=tmp, functions=tuple(functions), ids=stored.ids,
                    untested=stored.untested, problems=stored.problems,
                )  # fmt: skip
                return check(stored.command), found
            with step("behaviour_record"):
                worktree = base_worktree()
                # behind the candidate's own runs from here: a rejection never waits for
                # the recording. Not before: a starved `git worktree add` would leave a
                # half-made worktree (HEAD at the null id) open to a SIGKILL for longer
                lower_this_thread(BEHIND)
                command = probe.resolved(worktree).command
                made = check(command)
                got = made.record(worktree, tmp, functions, self._cancel)
            if cache is not None and complete(got, self._cancel):
                cache.put(key, tmp / "out", Stored(command, got.ids, got.untested, got.problems))
            return made, got

        def on_base(got: Recording) -> BehaviourMetrics:
            """The candidate's recording replayed on the baseline."""
            if got.done is not None:  # nothing to replay: no base worktree either
                return got.done
            with step("behaviour_replay"):
                worktree = base_worktree()
                lower_this_thread(BEHIND)
                made = check(probe.resolved(worktree).command)
                return made.replay(got, worktree, self._cancel, recorded_on=CANDIDATE)

        def record_and_replay() -> BehaviourMetrics:
            rider = self.rider
            if rider is not None and rider.planned:  # the traced run records: its end
                got = rider.wait(self._cancel)
                if self._cancel.is_set():
                    return BehaviourMetrics()
                if got is not None:
                    return on_base(got)
            made, got = recorded()
            if self._cancel.is_set():  # rejected meanwhile: nobody waits for a replay
                return BehaviourMetrics()
            with step("behaviour_replay"):
                return made.replay(got, candidate, self._cancel)

        self._work = record_and_replay
        self._context = contextvars.copy_context()  # its steps time as if run from here
        self._job: Background[BehaviourMetrics] | None = None
        self._starting = threading.Lock()

    def start(self) -> None:
        """Record and replay from now on, in a thread (once; not after :meth:`close`)."""
        with self._starting:
            if self._job is None and not self._cancel.is_set():
                context = self._context.copy()
                self._job = Background(lambda: context.run(self._work), name="ratchet-record")

    def finish(self) -> BehaviourMetrics:
        """The recording replayed against the candidate (started now if it was not yet,
        and waited for)."""
        self.start()
        with self._starting:
            job = self._job
        return job.join() if job is not None else BehaviourMetrics()

    def close(self) -> None:
        """Stop a recording nobody waits for and remove what it made; errors of a
        recording that was never finished are dropped with it."""
        with self._starting:
            self._cancel.set()
            job = self._job
        try:
            if job is not None:
                job.join()
        except Exception:  # noqa: BLE001, S110 - finish() raised it if anyone asked
            pass
        finally:
            if self._worktree is not None:
                self._repo.remove_worktree(self._worktree)
            self._tmp.cleanup()


def complete(recording: Recording, cancel: threading.Event) -> bool:
    """A recording worth keeping: something recorded, nothing cut short."""
    cut = any("cancelled" in p or "timed out" in p for p in recording.problems)
    return recording.done is None and not cut and not cancel.is_set()
