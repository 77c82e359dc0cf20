"""The CLI's exit without interpreter teardown: real interpreters, real pipes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("code", "status"), [("None", 0), ("3", 3)])
def test_exit_now_runs_the_handlers_flushes_and_ends_with_the_code(
    tmp_path: Path, code: str, status: int
) -> None:
    marker = tmp_path / "cleaned"
    done = run(
        "import atexit, pathlib, sys, tempfile\n"
        "from engine.cli.quickexit import exit_now\n"
        f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('yes'))\n"
        "kept = tempfile.TemporaryDirectory()\n"  # cleaned by its finalizer at exit
        f"pathlib.Path({str(tmp_path / 'where')!r}).write_text(kept.name)\n"
        "sys.stdout.write('x' * 200000)\n"  # more than any pipe buffer: must be flushed
        f"exit_now({code})\n"
        "print('not reached')\n"
    )
    assert done.returncode == status, done.stderr
    assert done.stdout == "x" * 200000
    assert marker.read_text() == "yes"
    assert not Path((tmp_path / "where").read_text()).exists()


def test_exit_now_leaves_a_message_to_the_usual_exit() -> None:
    done = run(
        "import sys\nfrom engine.cli.quickexit import exit_now\nexit_now('bye')\nsys.exit('bye')\n"
    )
    assert done.returncode == 1 and done.stderr.strip() == "bye", done


def test_exit_now_leaves_a_process_with_other_threads_to_the_usual_exit() -> None:
    done = run(
        "import threading, time\n"
        "from engine.cli.quickexit import exit_now\n"
        "t = threading.Thread(target=lambda: (time.sleep(0.3), print('thread done')))\n"
        "t.start()\n"
        "exit_now(0)\n"
        "print('went on')\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["went", "on", "thread", "done"]
