"""Throwaway directories of a killed ratchet are swept by the next one, never those of a
live one (real processes, real ``kill -9``, real flock; each test its own ``TMPDIR``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from engine.gate.evaluation import scratchroot
from tests.repo_helpers import ROOT

# a ratchet-like process: makes its root, fills a throwaway copy, says where, then waits
HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from engine.gate.evaluation.scratchroot import scratch_dir
    tmp = scratch_dir("ratchet-tests-")
    (Path(tmp.name) / "work").mkdir()
    (Path(tmp.name) / "work" / "copy.py").write_text("x = 1\\n")
    print(tmp.name, flush=True)
    if sys.argv[1] == "wait":
        time.sleep(600)
    """
)


def start(tmpdir: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, mode], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    made = Path(proc.stdout.readline().strip())
    proc.stdout.close()  # it says nothing more
    assert made.parent.name.startswith(scratchroot.PREFIX), made
    if mode == "wait":  # ("exit" may already have removed it)
        assert made.is_dir()
    return proc, made.parent


def test_a_killed_process_s_copies_are_swept_and_a_live_one_s_kept(tmp_path: Path) -> None:
    killed, killed_root = start(tmp_path, "wait")
    alive, alive_root = start(tmp_path, "wait")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert killed_root.exists()  # nobody cleaned up: it was killed

        assert scratchroot.sweep(tmp_path) == [killed_root]

        assert not killed_root.exists()
        assert alive_root.is_dir() and any(alive_root.glob("ratchet-tests-*/work/copy.py"))
    finally:
        alive.kill()
        alive.wait(30)


def test_the_next_process_sweeps_on_its_first_throwaway_directory(tmp_path: Path) -> None:
    killed, killed_root = start(tmp_path, "wait")
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)

    finished, finished_root = start(tmp_path, "exit")  # its first scratch_dir sweeps
    finished.wait(30)

    assert not killed_root.exists()
    assert not finished_root.exists()  # a normal exit removes its own root
    assert list(tmp_path.iterdir()) == []


def test_what_is_not_a_root_of_ours_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / f"{scratchroot.PREFIX}someone").mkdir()  # no lock file: not one of ours
    (tmp_path / "ratchet-tests-old").mkdir()  # a copy of an earlier version: not ours to judge
    assert scratchroot.sweep(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{scratchroot.PREFIX}someone",
        "ratchet-tests-old",
    ]
