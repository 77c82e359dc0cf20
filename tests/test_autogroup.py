"""A niced run's new session group is as nice as the thread that started it (real
bubblewrap, real processes, the kernel's own ``/proc/<pid>/autogroup`` read back)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from engine.gate.evaluation.autogroup import inside
from engine.gate.evaluation.background import BEHIND, Background
from engine.gate.evaluation.probes.host import run_tool
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.model import Limits

pytestmark = [
    pytest.mark.sandbox,  # bubblewrap cannot nest inside ratchet's own sandbox
    pytest.mark.skipif(
        not Path("/proc/self/autogroup").exists(),
        reason="this kernel groups no tasks by session (no CONFIG_SCHED_AUTOGROUP)",
    ),
]

READ_GROUP = [sys.executable, "-c", "print(open('/proc/self/autogroup').read().split()[-1])"]


def group_niceness(mode: str, tmp_path: Path) -> int:
    runner = SandboxRunner(mode=mode, limits=Limits())  # type: ignore[arg-type]
    result = runner.run(READ_GROUP, cwd=tmp_path, timeout=60)
    assert result.ok, result.stderr
    return int(result.stdout)


@pytest.mark.parametrize("mode", ["bwrap", "unsafe-none"])
def test_a_niced_thread_s_sandboxed_run_gets_its_niceness_for_its_session_group(
    mode: str, tmp_path: Path
) -> None:
    # each run is a new session (bwrap's --new-session inside ratchet's own setsid): with
    # autogroups the CPU is shared between sessions first, so a thread's niceness alone
    # would leave the run as greedy as the runs a verdict waits on
    behind = min(os.nice(0) + BEHIND, 19)

    assert Background(lambda: group_niceness(mode, tmp_path), name="t", nice=BEHIND).join() == (
        behind
    )
    assert group_niceness(mode, tmp_path) == os.nice(0)  # the caller's own runs: unchanged


def test_a_niced_thread_s_host_tool_gets_its_niceness_for_its_session_group(
    tmp_path: Path,
) -> None:
    def tool() -> int:
        result = run_tool(READ_GROUP, cwd=tmp_path, timeout=60)
        assert result.ok, result.stderr
        return int(result.stdout)

    assert Background(tool, name="t", nice=BEHIND).join() == min(os.nice(0) + BEHIND, 19)


def test_a_run_of_a_thread_that_is_not_niced_is_started_as_it_is() -> None:
    if os.nice(0) != 0:
        pytest.skip("the test process itself runs niced")  # pragma: no cover
    assert inside(READ_GROUP) == READ_GROUP
    assert Background(lambda: inside(READ_GROUP), name="t", nice=BEHIND).join()[-3:] == (READ_GROUP)
