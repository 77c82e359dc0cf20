"""Background work: results and errors handed back on join; nicer work stays nicer, down to
the processes it starts (real threads, a real child process)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from engine.gate.evaluation.background import BEHIND, Background


def child_niceness() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(done.stdout)


def test_a_nicer_thread_and_the_process_it_starts_run_behind_the_caller() -> None:
    here = os.nice(0)

    behind = Background(child_niceness, name="t-behind", nice=BEHIND).join()
    beside = Background(child_niceness, name="t-beside").join()

    assert behind == min(here + BEHIND, 19)
    assert beside == here  # the caller's own thread and its other workers keep theirs
    assert os.nice(0) == here


def test_join_hands_back_the_result_or_the_error() -> None:
    started = threading.Event()

    def fail() -> None:
        started.set()
        raise ValueError("boom")

    assert Background(lambda: 41 + 1, name="t-ok").join() == 42
    job = Background(fail, name="t-fail")
    assert started.wait(5)
    with pytest.raises(ValueError, match="boom"):
        job.join()
