"""A refine attempt that has nothing to do does not stand for the goal's cycle.

Found on boltons 26.2.0 and python-dateutil 4.0.0 with the embedded ruff goal: attempt 1
was evaluated and rejected, attempt 2 (ruff proposes the same fix) was a duplicate of it,
``nothing-to-do``, and that was the cycle's outcome: ``run-once --json`` said
``nothing-to-do`` with no commit, and the cycle went on to the next goal as if this one
had been idle. The rejection is the outcome; the idle attempt stays in the journal and its
message in the rejected report's notes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.repo_helpers import BROKEN_CLASSIFY, git, make_repo, plan_file, ratchet


@pytest.mark.sandbox  # starts bubblewrap: cannot run inside ratchet's own sandbox
def test_a_rejection_followed_by_a_duplicate_refine_attempt_is_the_outcome(
    tmp_path: Path,
) -> None:
    edits = [{"file": "calc/ops.py", "op": "replace", "symbol": "classify",
              "code": BROKEN_CLASSIFY}]  # fmt: skip
    goals = [
        {
            "id": "simplify",
            "description": "Flatten nested branches.",
            "priority": 5,
            "scope": ["calc/**/*.py"],
            "provider": "scripted",
            "options": {"plans": ["plans/broken.yaml"]},
            "max_attempts": 2,  # the one plan replays on attempt 2: a duplicate
        },
        {
            "id": "other",
            "description": "Would run next if the first goal looked idle.",
            "priority": 1,
            "scope": ["calc/**/*.py"],
            "provider": "scripted",
            "options": {"plans": ["plans/broken.yaml"]},
            "max_attempts": 1,
        },
    ]
    repo = make_repo(tmp_path / "repo", goals=goals)
    plan_file(repo / "plans" / "broken.yaml", "Simplify classify (wrongly)", edits)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "plans")
    before = git(repo, "rev-parse", "main")

    run = ratchet("run-once", "--repo", str(repo), "--json", "--quiet")
    assert run.code == 0, run.stderr
    result = run.json
    assert (result["goal"], result["outcome"]) == ("simplify", "rejected"), run.stdout
    assert result["commit"] and "tests-pass" in {
        r["id"] for r in result["rules"] if not r["passed"]
    }
    assert "attempt 2" in run.stdout and "repeats a change rejected before" in run.stdout
    assert "[other]" not in run.stdout  # the cycle was spent on simplify
    assert git(repo, "rev-parse", "main") == before
    log = ratchet("log", "--repo", str(repo), "--json")
    outcomes = [(e["goal"], e["outcome"]) for e in __import__("json").loads(log.stdout)]
    assert outcomes == [("simplify", "rejected"), ("simplify", "nothing-to-do")], outcomes
