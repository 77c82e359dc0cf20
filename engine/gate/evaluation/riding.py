"""The behaviour recording carried by the candidate's traced reaching run.

Recording the changed functions' calls on the baseline costs a sandboxed pytest run of
its own: the interpreter, pytest and the project's plugins started once more, the tests
that reach the change collected and run again (on the 4 s suite of ``benchmarks/
workers.py``, 2.3 of a candidate's 12.6 core-seconds, and on the critical path: it starts
once a run has passed). But the full stage by reach already runs exactly those tests on the
candidate, under coverage (:mod:`engine.gate.evaluation.probes.reached`). So the recorder
rides on that run instead: ``ratchet_probe`` wraps the changed functions once collection
has finished (every conftest and test module imported the package its own way first) and
keeps the candidate's calls; the replay then calls the baseline's versions with them in a
copy of the baseline (:meth:`engine.gate.evaluation.behaviour.BehaviourCheck.replay` with
``recorded_on="candidate"``). A call diverges under the same conditions either way round.

:class:`Rider` is the hand-over between the two: the traced run asks it for the spec
(:meth:`Rider.spec`: from then on the recording is *planned*) and always tells it the run's
end (:meth:`Rider.done`, with the run's output directory, from which the calls and the
summary are copied: the run's own directory is removed with it). The behaviour session
(:class:`engine.gate.recording.BehaviourSession`) waits for that end when the recording was
planned, and records on the baseline as before when it was not or when the run left no
recording (cancelled, killed, a recorder that could not write).

The host reads only the recorder's JSON summary: calls made by candidate code are
unpickled only inside the sandbox, by the replay.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

from engine.gate.evaluation.behaviour import (
    CALLS,
    CANDIDATE,
    SUMMARY,
    FunctionRef,
    Recording,
    read_summary,
    record_spec,
    recording_of,
)

POLL = 0.1  # seconds between looks at the cancel flag while waiting for the run's end


class Rider:
    """The recording of ``functions`` by the candidate's traced run, kept in ``tmp/out``."""

    def __init__(self, functions: Sequence[FunctionRef], tmp: Path) -> None:
        self.functions = tuple(functions)
        self.tmp = tmp
        self._planned = threading.Event()
        self._ended = threading.Event()
        self._recording: Recording | None = None

    def spec(self, work: Path, out: Path) -> dict[str, object]:
        """The recorder's part of the traced run's ``ratchet_probe`` spec (a run in
        ``work`` keeping its output in ``out``); the recording is planned from now on, and
        :meth:`done` must follow."""
        self._planned.set()
        return record_spec(work, out, self.functions, after_collection=True)

    @property
    def planned(self) -> bool:
        return self._planned.is_set()

    def done(self, out: Path | None) -> None:
        """The traced run has ended; ``out`` is its output directory (None: it left none).
        Once only: a later call changes nothing."""
        if self._ended.is_set():
            return
        recording = None
        try:
            if out is not None and (out / SUMMARY).is_file() and (out / CALLS).is_file():
                mine = self.tmp / "out"
                mine.mkdir(parents=True, exist_ok=True)
                for name in (CALLS, SUMMARY):
                    shutil.copyfile(out / name, mine / name)
                counts, problems = read_summary(mine)
                if counts:  # a summary naming no function: the recorder did not install
                    recording = recording_of(self.tmp, self.functions, counts, problems, CANDIDATE)
        except OSError:
            recording = None
        finally:
            self._recording = recording
            self._ended.set()

    def wait(self, cancel: threading.Event) -> Recording | None:
        """The candidate's recording once the traced run has ended (None: it left none, or
        ``cancel`` was set first)."""
        while not self._ended.wait(POLL):
            if cancel.is_set():
                return None
        return self._recording
