"""The cascade benchmarks run end to end on a small generated project: their tables print
(CI's log shows them) and the steps they read are the steps a cycle records — a renamed
timing key would otherwise leave a column at zero and the table would still look fine."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.repo_helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]
SMALL = ("--tests", "20", "--work", "200", "--rounds", "1")


def benchmark(script: str) -> str:
    run = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *SMALL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(run.stdout)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def ratio(out: str, label: str) -> float:
    found = re.search(rf"^{re.escape(label)}\s+([0-9.]+)x$", out, re.MULTILINE)
    assert found, f"no {label!r} line in:\n{out}"
    return float(found.group(1))


def test_fail_fast_reads_the_step_that_rejected() -> None:
    out = benchmark("fail_fast.py")
    assert ratio(out, "rejected in / full suite (ratchet's):") > 0
    assert ratio(out, "early stage / full suite (ratchet's):") > 0  # the rejecting step's time
    assert re.search(r"^\s+1\s.*\b(selected|full), [1-9]", out, re.MULTILINE), out


def test_gate_overhead_times_a_merged_candidate() -> None:
    out = benchmark("gate_overhead.py")
    assert re.search(r"^\s+1\s.*\bmerged$", out, re.MULTILINE), out
    assert ratio(out, "ratchet / plain:") > 1  # a cycle does more than the tests alone
    assert "tests " in out.rsplit("largest steps", 1)[-1]
