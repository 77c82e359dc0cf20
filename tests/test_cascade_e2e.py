"""The evaluation cascade end to end: real git repositories, the real CLI, the bubblewrap
sandbox. Syntax -> the tests covering the change (fail-fast) -> the full suite; only the
full suite may justify a merge. And the baseline cached by content: the cycle after a
merge finds the merged candidate's own measurement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.repo_helpers import (
    BROKEN_CLASSIFY,
    DEFAULT_GOALS,
    FLAT_CLASSIFY,
    git,
    make_repo,
    plan_file,
    ratchet,
)

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

UNTESTED = '''\
"""Nothing tests this module."""


def untested():
    return 1
'''


def run_plan(repo: Path, tmp: Path, edits: list[dict[str, Any]]) -> dict[str, Any]:
    plan = plan_file(tmp / "plan.yaml", "a change", edits)
    run = ratchet(
        "run-once",
        *("--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json", "--quiet"),
    )
    assert run.code == 0, run.stderr
    return run.json


def note_of(repo: Path, ref: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(git(repo, "notes", "--ref", "ratchet", "show", ref))
    return data


def classify(code: str) -> list[dict[str, Any]]:
    return [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": code}]


def rejected(tmp: Path, code: str, files: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``--json`` report of a candidate replacing classify with ``code``, which must
    be rejected, the target untouched."""
    repo = make_repo(tmp / "repo", files=files)
    before = git(repo, "rev-parse", "main")
    result = run_plan(repo, tmp, classify(code))
    assert result["outcome"] == "rejected"
    assert git(repo, "rev-parse", "main") == before
    result["repo"] = str(repo)
    return result


# a break inside classify's body reaches test_classify only: the traced reaching run
# rejects it (the untraced whole suite beside it is cancelled); a break in its signature
# (import-time code) reaches both tests, too many for coverage by reach: the early stage
# of the whole-suite path rejects it and the full suite does not run
BROKEN_SIGNATURE = BROKEN_CLASSIFY.replace("def classify(n):", "def classify(n, unit):")


@pytest.mark.parametrize(
    ("code", "step"),
    [(BROKEN_CLASSIFY, "tests_reach"), (BROKEN_SIGNATURE, "tests_selected")],
    ids=["body-by-reach", "signature-early-stage"],
)
def test_breaking_a_covered_line_is_rejected_by_the_selected_tests(
    tmp_path: Path, code: str, step: str
) -> None:
    result = rejected(tmp_path, code)
    repo = Path(result["repo"])
    timings = result["timings"]
    assert timings[step] > 0, timings  # the stage that rejected it
    if step == "tests_selected":  # the full suite did not run (the baseline's full run did)
        assert "tests" not in timings and "tests_reach" not in timings, timings
    assert timings["baseline.tests"] > 0
    assert "behaviour" not in timings  # nothing is replayed for a rejected candidate
    if step == "tests_reach":  # nor recorded: the recording waits for a run that passed
        assert "behaviour_record" not in timings, timings
    tests = result["candidate"]["tests"]
    assert tests["stage"] == "selected" and tests["selected"] == 1
    assert tests["failures"] == ["tests/test_ops.py::test_classify"]
    assert tests["collected"] == 1  # only the covering test ran, not test_add
    # recorded like any failed rule: the snapshot, and the note's full evidence
    ref = "refs/ratchet/rejected/simplify/1"
    snapshot = json.loads(git(repo, "show", f"{ref}:snapshots/{result['cycle_id']}.json"))
    assert snapshot["candidate"]["tests"]["stage"] == "selected"
    assert {"id": "tests-pass", "passed": False, "on_fail": "reject", "applicable": True} in (
        snapshot["rules"]
    )
    note = note_of(repo, ref)
    assert note["candidate"]["tests"]["failures"] == ["tests/test_ops.py::test_classify"]
    assert any(
        "'selected' stage" in n and "tests/test_ops.py::test_classify" in n for n in note["notes"]
    ), note["notes"]
    assert note["cause"].startswith("tests failed")


def test_good_candidate_passes_every_stage_merges_and_the_next_baseline_is_cached(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")

    merged = run_plan(repo, tmp_path, classify(FLAT_CLASSIFY))

    assert merged["outcome"] == "merged", merged
    timings = merged["timings"]
    # by reach: the whole suite untraced, test_classify (the one test reaching classify's
    # body) traced beside it
    assert timings["tests_reach"] > 0 and timings["tests"] > 0, timings
    assert "tests_selected" not in timings
    notes = note_of(repo, "main")["notes"]  # the measurement says how coverage was measured
    assert any("coverage measured on the 1 test(s)" in n for n in notes), notes
    tests = merged["candidate"]["tests"]
    assert tests["stage"] == "full" and tests["selected"] == 1 and tests["passed"] == 2
    # classify's calls recorded by the traced reaching run itself and replayed on the base
    assert "behaviour_record" not in timings and timings["behaviour_replay"] > 0, timings
    behaviour = merged["candidate"]["behaviour"]
    assert behaviour["checked"] and behaviour["recorded_on"] == "candidate", behaviour
    assert behaviour["calls"] > 0 and behaviour["diverged"] == 0, behaviour
    tip = git(repo, "rev-parse", "main")
    assert tip != merged["candidate"]["commit"]  # the candidate amended with its records

    # The next cycle: its baseline (the merged tip) is the candidate's own measurement.
    again = run_plan(repo, tmp_path, classify(BROKEN_CLASSIFY))

    later = again["timings"]
    assert "baseline.baseline_cached" in later and "baseline.tests" not in later, later
    assert again["baseline"]["commit"] == tip
    assert again["baseline"]["tests"]["passed"] == 2
    # and its selection map came with it: the break is caught by the early stage
    assert again["outcome"] == "rejected"
    assert again["candidate"]["tests"]["stage"] == "selected"
    assert later["tests_reach"] > 0  # the reaching run rejected it


def test_a_change_no_test_covers_falls_through_to_the_full_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", files={"calc/extra.py": UNTESTED})

    result = run_plan(
        repo,
        tmp_path,
        [
            {
                "file": "calc/extra.py",
                "op": "replace",
                "symbol": "untested",
                "code": "def untested():\n    return 2\n",
            }
        ],
    )

    timings = result["timings"]
    assert "tests_selected" not in timings and timings["tests"] > 0, timings
    tests = result["candidate"]["tests"]
    assert tests["stage"] == "full" and tests["selected"] == 0 and tests["passed"] == 2
    # judged by the full run: its uncovered line goes to review, not an early rejection
    assert result["outcome"] == "review", result["outcome"]
    assert result["candidate"]["diff_coverage"]["lines"] == ["calc/extra.py:5"]


# ends the interpreter from inside the reaching test: neither run leaves a verdict or any
# coverage data (no junit, no atexit), so the traced run cannot say which tests fail
CRASHING_CLASSIFY = """\
def classify(n):
    import os

    os._exit(3)
"""


def test_a_crash_without_a_verdict_is_rejected_by_the_untraced_whole_suite(
    tmp_path: Path,
) -> None:
    result = rejected(tmp_path, CRASHING_CLASSIFY)
    repo = Path(result["repo"])
    timings = result["timings"]
    # the traced reaching run had no verdict: the untraced one's failure (no verdict where
    # the baseline had one) rejects — at once when it had already ended, else by
    # cancelling the whole suite under coverage started beside it
    assert timings["tests_reach"] > 0 and timings["tests"] > 0, timings
    assert "behaviour" not in timings  # nothing is replayed for a rejected candidate
    assert "behaviour_record" not in timings, timings  # nor recorded: no run passed
    tests = result["candidate"]["tests"]
    assert tests["stage"] == "untraced", tests
    assert tests["failures"] == ["<session>"], tests
    note = note_of(repo, "refs/ratchet/rejected/simplify/1")
    assert any("'untraced' stage" in n for n in note["notes"]), note["notes"]


def test_a_project_counting_branches_is_measured_by_reach_too(tmp_path: Path) -> None:
    """``branch = true`` in the project's own coverage config: the map records each test's
    branch arcs, so a change inside classify is measured by reach (test_classify traced)
    and test_add's lines and branches are carried over; the percentage counts branches."""
    files = {
        "pyproject.toml": "[tool.coverage.run]\nbranch = true\n",
        # every line runs, one branch (n false) never does
        "calc/pick.py": "def pick(n):\n    r = 0\n    if n:\n        r = 1\n    return r\n",
        "tests/test_pick.py": (
            "from calc.pick import pick\n\n\ndef test_pick():\n    assert pick(1)\n"
        ),
    }
    repo = make_repo(tmp_path / "repo", files=files)

    merged = run_plan(repo, tmp_path, classify(FLAT_CLASSIFY))

    assert merged["outcome"] == "merged", merged
    assert merged["timings"]["tests_reach"] > 0, merged["timings"]
    notes = note_of(repo, "main")["notes"]
    assert any("coverage measured on the 1 test(s)" in n for n in notes), notes
    coverage = merged["candidate"]["coverage"]
    assert coverage["covered_lines"] == coverage["num_statements"]  # every line ran
    assert coverage["percent"] < 100.0 and coverage["files"]["calc/pick.py"] < 100.0

    # the next baseline is that measurement, with its carried map and branches: reach again
    again = run_plan(repo, tmp_path, classify(BROKEN_CLASSIFY))
    assert "baseline.baseline_cached" in again["timings"], again["timings"]
    assert again["outcome"] == "rejected" and again["timings"]["tests_reach"] > 0


# runs first in the whole suite (file order) and reaches nothing of classify; on the
# crashing candidate only, it takes a while — far longer under the tracer — so the untraced
# run reaches the crash while the whole suite under coverage is still in this test
SLOW_START = """\
import inspect
import sys
import time

from calc import ops


def test_a_slow_start():
    if "os._exit" in inspect.getsource(ops.classify):
        time.sleep(30 if sys.gettrace() else 1)
"""


def test_the_untraced_failure_cancels_the_whole_suite_under_coverage_beside_it(
    tmp_path: Path,
) -> None:
    result = rejected(tmp_path, CRASHING_CLASSIFY, {"tests/test_aaa.py": SLOW_START})
    timings = result["timings"]
    assert timings["tests_coverage"] > 0, timings  # it started, beside the untraced run
    assert timings["tests_coverage"] < 20, timings  # and was cancelled long before its end
    tests = result["candidate"]["tests"]
    assert tests["stage"] == "untraced" and tests["failures"] == ["<session>"], tests


# reaches nothing of classify, and takes most of the baseline's time
SLOW_OTHER = """\
import time


def test_slow_elsewhere():
    time.sleep(4)
"""

HANGING_CLASSIFY = """\
def classify(n):
    while True:
        n += 1
"""


# stuck in C code that holds the GIL: no thread of the test's process runs again, so the
# per-test watchdog cannot fire; only the run's own limit ends it
HOLDING_CLASSIFY = """\
def classify(n):
    import itertools

    return sum(itertools.repeat(n))
"""


def test_a_hanging_reaching_test_is_killed_at_its_own_limit(tmp_path: Path) -> None:
    # the whole suite's limit: max(floor 5, 5 x ~5 s); the reaching run's: max(floor 5,
    # 5 x (test_classify's baseline time + the session's own)), from the map's durations
    repo = make_repo(
        tmp_path / "repo",
        files={"tests/test_slow.py": SLOW_OTHER},
        directives={"timeouts": {"tests": 120, "floor": 5}},
    )
    before = git(repo, "rev-parse", "main")

    result = run_plan(repo, tmp_path, classify(HOLDING_CLASSIFY))

    assert result["outcome"] == "rejected" and git(repo, "rev-parse", "main") == before
    whole = result["baseline"]["tests"]["duration"]
    assert whole > 4, result["baseline"]["tests"]
    tests = result["candidate"]["tests"]
    assert tests["stage"] == "selected" and tests["timed_out"], tests
    assert 5 <= tests["time_limit"] < min(5 * whole, 15), (tests["time_limit"], whole)
    assert result["timings"]["tests_reach"] < 5 * whole - 5, result["timings"]
    note = note_of(repo, "refs/ratchet/rejected/simplify/1")
    assert any("reaching the change were killed after" in n for n in note["notes"]), note


def test_a_covering_test_that_hangs_is_stopped_at_its_own_limit(tmp_path: Path) -> None:
    """The candidate also edits the test file: every test reaches the change, so the
    selected tests run (fail-fast, untraced) within the whole run's limit, max(floor 3,
    5 x ~4.5 s); test_classify took milliseconds on the baseline, so its body may run
    max(floor, 5 x that) = 3 s: the watchdog ends the run there, failing that test."""
    repo = make_repo(
        tmp_path / "repo",
        goals=[{**DEFAULT_GOALS[0], "scope": ["calc/**/*.py", "tests/**/*.py"]}],
        files={"tests/test_slow.py": SLOW_OTHER},
        directives={"timeouts": {"tests": 120, "floor": 3}},
    )
    before = git(repo, "rev-parse", "main")
    same_test = "def test_add():\n    assert add(2, 3) == 5, 'still five'\n"
    edits = [
        *classify(HANGING_CLASSIFY),
        {"file": "tests/test_ops.py", "op": "replace", "symbol": "test_add", "code": same_test},
    ]

    result = run_plan(repo, tmp_path, edits)

    assert result["outcome"] == "rejected" and git(repo, "rev-parse", "main") == before
    whole = result["baseline"]["tests"]["duration"]
    tests = result["candidate"]["tests"]
    assert tests["stage"] == "selected" and not tests["timed_out"], tests
    assert tests["failures"] == ["tests/test_ops.py::test_classify"], tests
    assert tests["time_limit"] >= 5 * whole > 20, (tests["time_limit"], whole)  # not its end
    assert tests["first_failure"].endswith("ran past its limit of 3 s"), tests
    assert result["timings"]["tests_selected"] < 3 + 8, result["timings"]
    note = note_of(repo, "refs/ratchet/rejected/simplify/1")
    assert any("ran past its own limit of 3 s" in n for n in note["notes"]), note


# classify runs when calc is imported; a conftest stands in for a traced run that takes
# far longer than the untraced one (a big suite collected under coverage): once a session
# under ratchet's contexts plugin has failed, it does not end for ten minutes
IMPORT_TIME = {
    "calc/__init__.py": "from calc.ops import classify\n\nZERO = classify(0)\n",
    "tests/conftest.py": """\
import time


def pytest_sessionfinish(session):
    if session.testsfailed and session.config.pluginmanager.has_plugin("ratchet_contexts"):
        time.sleep(600)
""",
}

RAISING_CLASSIFY = """\
def classify(n):
    raise ValueError(n)
"""


def test_a_break_at_import_time_is_rejected_by_the_untraced_run_without_the_traced_one(
    tmp_path: Path,
) -> None:
    result = rejected(tmp_path, RAISING_CLASSIFY, files=IMPORT_TIME)
    timings = result["timings"]
    tests = result["candidate"]["tests"]
    # the untraced whole suite ends at its collection errors and rejects; the traced run
    # beside it is cancelled (not waited for: it would take 600 s, or its own time limit)
    assert tests["stage"] == "untraced", tests
    assert tests["failures"], tests
    assert timings["tests_reach"] < 60, timings
    assert "tests_coverage" not in timings, timings  # no whole suite under coverage started
