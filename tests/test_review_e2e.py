"""The review loop end to end, through the real CLI, on real git repositories: review
list/show/accept/reject, retry, the memory of human decisions (reject, ratchet revert, a
plain git revert), and the same commands from a fresh clone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.repo_helpers import (
    BROKEN_CLASSIFY,
    FLAT_CLASSIFY,
    git,
    make_repo,
    plan_file,
    ratchet,
    snapshot_of_user_state,
    write,
)

pytestmark = pytest.mark.slow

FLAT = [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}]
BROKEN = [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": BROKEN_CLASSIFY}]


def _run(repo: Path, plan: Path) -> dict[str, object]:
    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    return run.json


def test_review_list_show_reject_then_the_same_change_is_never_evaluated_again(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main", "merge": "review"})
    git(repo, "checkout", "-q", "-b", "elsewhere")
    state = snapshot_of_user_state(repo)
    plan = plan_file(tmp_path / "plan.yaml", "Flatten classify", FLAT)
    first = _run(repo, plan)
    assert first["outcome"] == "review"

    listed = ratchet("review", "list", "--repo", str(repo))
    assert listed.code == 0, listed.stderr
    assert "simplify/1" in listed.stdout and "Flatten classify" in listed.stdout
    assert "complexity -2" in listed.stdout and "merge: review" in listed.stdout
    assert "review:        simplify/1" in ratchet("status", "--repo", str(repo)).stdout
    rows = json.loads(ratchet("review", "list", "--repo", str(repo), "--json").stdout)
    assert [r["id"] for r in rows] == ["simplify/1"] and rows[0]["commit"] == first["commit"]

    shown = ratchet("review", "show", "simplify/1", "--repo", str(repo))
    assert shown.code == 0, shown.stderr
    assert '+    return ("negative", "small", "large")' in shown.stdout  # the diff
    assert "snapshots/" not in shown.stdout  # ratchet's own records are not the change
    assert "tests-not-fewer: candidate.tests.passed=2 vs baseline.tests.passed=2" in shown.stdout
    assert "complexity 5 → 3" in shown.stdout

    rejected = ratchet(
        "review", "reject", "simplify/1", "--reason", "keep the nested ifs", "--repo", str(repo)
    )
    assert rejected.code == 0, rejected.stderr
    assert "refs/ratchet/rejected/simplify/1" in rejected.stdout
    assert git(repo, "branch", "--list", "ratchet/simplify/1") == ""
    message = git(repo, "log", "-1", "--format=%B", "refs/ratchet/rejected/simplify/1")
    assert "Ratchet-Human: rejected" in message and "Ratchet-Reason: keep the nested ifs" in message
    # the evidence note followed the amended commit, with the human's decision on top
    note = json.loads(
        git(repo, "notes", "--ref", "ratchet", "show", "refs/ratchet/rejected/simplify/1")
    )
    assert note["human"]["reason"] == "keep the nested ifs" and note["outcome"] == "rejected"
    assert note["commit"] == git(repo, "rev-parse", "refs/ratchet/rejected/simplify/1")
    assert any("candidate.tests.passed=2" in r["detail"] for r in note["rules"])
    assert ratchet("review", "list", "--repo", str(repo)).stdout.startswith("no candidate")
    assert "review:        none" in ratchet("status", "--repo", str(repo)).stdout
    log = ratchet("log", "--repo", str(repo), "--outcome", "rejected")
    assert "cause: rejected by a human: keep the nested ifs" in log.stdout

    again = _run(repo, plan)  # byte-identical proposal: never evaluated again
    assert again["outcome"] == "nothing-to-do", again
    assert "a human rejected this change" in str(again["message"])
    assert git(repo, "branch", "--list", "ratchet/*") == ""
    assert snapshot_of_user_state(repo) == state

    # the way out: retry judges it again with today's rules (here: review again). It is
    # named as log shows it too: by the ref it is kept at, or by its cycle id
    for name in ("refs/ratchet/rejected/simplify/1", str(first["cycle_id"])):
        shown = ratchet("review", "show", name, "--repo", str(repo))
        assert shown.code == 0 and "simplify/1" in shown.stdout, (name, shown.stderr)
    retried = ratchet("retry", "simplify/1", "--repo", str(repo))
    assert retried.code == 0, retried.stderr
    kept = re.search(r"kept for human review on ratchet/simplify/(\d+)", retried.stdout)
    assert "REVIEW" in retried.stdout and kept and int(kept[1]) > 1, retried.stdout


def test_accept_merges_by_compare_and_swap_after_the_target_moved(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main", "merge": "review"})
    git(repo, "checkout", "-q", "-b", "elsewhere")
    first = _run(repo, plan_file(tmp_path / "plan.yaml", "Flatten classify", FLAT))
    assert first["outcome"] == "review"
    # a human moves main meanwhile (another file): accept must rebase and re-measure
    git(repo, "checkout", "-q", "main")
    write(repo / "NOTES.md", "notes\n")
    git(repo, "add", "NOTES.md")
    git(repo, "commit", "-q", "-m", "notes")
    moved = git(repo, "rev-parse", "main")
    git(repo, "checkout", "-q", "elsewhere")

    accepted = ratchet("review", "accept", "simplify/1", "--repo", str(repo))
    assert accepted.code == 0, accepted.stdout + accepted.stderr
    assert "MERGED" in accepted.stdout and "rebased and re-evaluated" in accepted.stdout
    assert git(repo, "rev-parse", "main^") == moved
    assert 'return ("negative"' in git(repo, "show", "main:calc/ops.py")
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert "Ratchet-Decision: merged" in message
    # the note ends on the rebased, amended commit that landed (not the one first judged)
    note = json.loads(git(repo, "notes", "--ref", "ratchet", "show", "main"))
    assert note["commit"] == git(repo, "rev-parse", "main") != first["commit"]
    assert any("rebased and re-evaluated" in n for n in note["notes"])
    assert {"rebase", "baseline", "tests", "records", "merge"} <= set(note["timings"])
    assert git(repo, "branch", "--list", "ratchet/*") == ""
    assert ratchet("review", "list", "--repo", str(repo)).stdout.startswith("no candidate")
    unknown = ratchet("review", "accept", "simplify/1", "--repo", str(repo))
    assert unknown.code == 2 and "no review candidate 'simplify/1'" in unknown.stderr

    # a later human change to the same lines: the revert conflicts, nothing moves, and
    # git's hints about ratchet's private worktree never reach the user
    merged = git(repo, "rev-parse", "main")
    git(repo, "checkout", "-q", "main")
    write(repo / "calc" / "ops.py", git(repo, "show", "main:calc/ops.py").replace("zero", "nil"))
    git(repo, "commit", "-qam", "rename zero")
    tip = git(repo, "rev-parse", "main")
    conflict = ratchet("revert", merged, "--repo", str(repo))
    assert conflict.code == 5, conflict.stdout + conflict.stderr
    assert (
        "cannot be reverted automatically" in conflict.stderr and "calc/ops.py" in conflict.stderr
    )
    assert "hint:" not in conflict.stderr and ".ratchet" not in conflict.stderr
    assert git(repo, "rev-parse", "main") == tip and git(repo, "status", "--porcelain") == ""


def test_rejection_names_the_failing_test_and_its_error_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    plan = plan_file(tmp_path / "plan.yaml", "Break classify", BROKEN)
    run = ratchet("run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan))
    assert run.code == 0, run.stderr
    cause = "cause: tests failed: tests/test_ops.py::test_classify: AssertionError"
    assert cause in run.stdout, run.stdout
    assert "candidate.tests.failed=" not in run.stdout  # the CEL values stay in --verbose
    log = ratchet("log", "--repo", str(repo))
    assert cause in log.stdout and "failed tests-pass" in log.stdout
    assert "candidate.tests.failed=1" in ratchet("log", "--repo", str(repo), "-v").stdout
    assert "None" not in log.stdout
    shown = ratchet("review", "show", "simplify/1", "--repo", str(repo))
    assert shown.code == 0, shown.stderr
    assert cause.removeprefix("cause: ") in shown.stdout


def test_reverted_changes_are_remembered_from_a_fresh_clone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    git(repo, "checkout", "-q", "-b", "elsewhere")
    plan = plan_file(tmp_path / "plan.yaml", "Flatten classify", FLAT)
    merged = _run(repo, plan)
    assert merged["outcome"] == "merged"
    human = git(repo, "log", "-1", "--format=%H", "main~1")  # "configure ratchet": a human's

    refused = ratchet("revert", human, "--repo", str(repo))
    assert refused.code == 2 and "not a ratchet commit" in refused.stderr
    git(repo, "checkout", "-q", "main")  # checked out with local changes: cannot move it
    write(repo / "NOTES.md", "work in progress\n")
    git(repo, "add", "NOTES.md")
    dirty = ratchet("revert", str(merged["commit"]), "--repo", str(repo))
    assert dirty.code == 5 and "main was not moved" in dirty.stderr, dirty.stderr
    assert "git merge --ff-only" in dirty.stderr
    assert git(repo, "rev-parse", "main") == merged["commit"]
    git(repo, "rm", "-q", "--cached", "NOTES.md")
    (repo / "NOTES.md").unlink()
    git(repo, "checkout", "-q", "elsewhere")
    reverted = ratchet("revert", str(merged["commit"]), "--repo", str(repo))
    assert reverted.code == 0, reverted.stderr
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert f"Ratchet-Reverts: {merged['commit']}" in message and "Ratchet-Goal: simplify" in message
    cycle = merged["cycle_id"]
    assert git(repo, "show", f"main:snapshots/{cycle}.json")  # the record stays in the tree

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "main")
    log = ratchet("log", "--repo", str(clone), "--outcome", "reverted")
    assert log.code == 0, log.stderr
    assert "REVERTED" in log.stdout and "Flatten classify" in log.stdout
    again = _run(clone, plan)
    assert again["outcome"] == "nothing-to-do" and "a human reverted" in str(again["message"])


def test_plain_git_revert_and_review_from_a_fresh_clone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main", "merge": "review"})
    git(repo, "checkout", "-q", "-b", "elsewhere")
    first = _run(repo, plan_file(tmp_path / "plan.yaml", "Flatten classify", FLAT))
    assert first["outcome"] == "review"
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))  # checks out "elsewhere"
    missing = ratchet("review", "accept", "simplify/1", "--repo", str(clone))
    assert missing.code == 2 and "git branch main origin/main" in missing.stderr
    git(clone, "checkout", "-q", "main")
    git(clone, "config", "user.name", "Cloner")
    git(clone, "config", "user.email", "cloner@example.invalid")
    listed = ratchet("review", "list", "--repo", str(clone))
    assert "simplify/1" in listed.stdout, listed.stdout + listed.stderr
    accepted = ratchet("review", "accept", "simplify/1", "--repo", str(clone))
    assert accepted.code == 0, accepted.stdout + accepted.stderr
    merged = git(clone, "rev-parse", "main")
    assert "Ratchet-Decision: merged" in git(clone, "log", "-1", "--format=%B", merged)
    assert ratchet("review", "list", "--repo", str(clone)).stdout.startswith("no candidate")

    git(clone, "revert", "--no-edit", merged)  # a plain git revert, by a human
    log = ratchet("log", "--repo", str(clone))
    assert "REVERTED" in log.stdout, log.stdout
    again = _run(clone, plan_file(tmp_path / "plan.yaml", "Flatten classify", FLAT))
    assert again["outcome"] == "nothing-to-do" and "a human reverted" in str(again["message"])
