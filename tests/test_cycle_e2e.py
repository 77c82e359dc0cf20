"""The improvement cycle end to end, through the real CLI, on real git repositories."""

from __future__ import annotations

import json
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


def test_accepted_change_is_merged_with_trailers_and_records(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    git(repo, "checkout", "-q", "-b", "elsewhere")  # target not checked out: ref update only
    before = git(repo, "rev-parse", "main")
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )

    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    result = run.json
    assert result["outcome"] == "merged", result
    # Not a terminal: one plain progress line per step on stderr, none on stdout.
    for line in ("ratchet: [simplify] baseline.tests (+", "ratchet: [simplify] tests (+"):
        assert line in run.stderr, run.stderr
    assert "ratchet: [" not in run.stdout
    # --json: stdout is the one JSON object (`| jq` works); the human report is on stderr
    assert json.loads(run.stdout) == result
    assert "[simplify] attempt 1: MERGED" in run.stderr
    after = git(repo, "rev-parse", "main")
    assert result["target_before"] == before and result["target_after"] == after != before
    assert git(repo, "rev-parse", f"{after}^") == before  # linear: one commit per change
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert "Ratchet-Goal: simplify" in message
    assert "Ratchet-Decision: merged" in message
    assert "Ratchet-Provider: scripted" in message
    assert "Ratchet-Delta-complexity-total: -" in message
    assert (
        git(repo, "log", "-1", "--format=%an <%ae>", "main") != "Test User <user@example.invalid>"
    )
    files = git(repo, "show", "--name-only", "--format=", "main").splitlines()
    cycle = result["cycle_id"]
    assert sorted(files) == sorted(
        ["calc/ops.py", f"snapshots/{cycle}.json", f"memory-bank/cycles/{cycle}.md"]
    )
    text = git(repo, "show", f"main:snapshots/{cycle}.json")
    assert len(text.splitlines()) < 60, text  # the snapshot in the tree: tens of lines
    snapshot = json.loads(text)
    assert snapshot["outcome"] == "merged"
    assert snapshot["candidate"]["tests"]["passed"] == 2
    assert (
        snapshot["candidate"]["complexity"]["total"] < snapshot["baseline"]["complexity"]["total"]
    )
    assert set(snapshot["rules_passed"]) >= {"tests-pass", "coverage-ratchet"}
    # The full evidence is the git note of the commit that landed.
    note = json.loads(git(repo, "notes", "--ref", "ratchet", "show", after))
    assert note["commit"] == after and note["cycle_id"] == cycle and note["outcome"] == "merged"
    assert note["candidate"]["coverage"]["files"]  # per-file metrics
    assert "passed" in note["candidate"]["tests"]["output_tail"]  # output tails
    rules = {r["id"]: r for r in note["rules"]}
    assert "candidate.tests.failed=0" in rules["tests-pass"]["detail"]  # the values rules saw
    # Per-step timings, in seconds, in the snapshot, the note and --json.
    measured = {"baseline", "worktree", "patch", "tests", "complexity", "lint", "security"}
    assert measured | {"rules"} <= set(snapshot["timings"])
    assert (
        measured | {"rules", "records", "merge"} <= set(note["timings"]) <= set(result["timings"])
    )
    for timings in (snapshot["timings"], note["timings"], result["timings"]):
        assert all(isinstance(v, float | int) and v >= 0 for v in timings.values()), timings
    assert result["timings"]["tests"] > 0
    assert result["baseline"]["tests"]["passed"] == 2
    assert not git(repo, "branch", "--list", "ratchet/*")  # merged branch cleaned up
    assert git(repo, "worktree", "list").count("\n") == 0  # no worktree left behind


def test_breaking_change_is_rejected_and_kept_under_a_ref(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    before = git(repo, "rev-parse", "main")
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Simplify classify (wrongly)",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": BROKEN_CLASSIFY}],
    )

    run = ratchet(
        "run-once",
        *("--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json", "--quiet"),
    )
    assert run.code == 0, run.stderr
    assert "ratchet: [" not in run.stderr  # --quiet: no progress lines
    result = run.json
    assert result["outcome"] == "rejected"
    assert git(repo, "rev-parse", "main") == before
    failed = {r["id"] for r in result["rules"] if not r["passed"]}
    assert "tests-pass" in failed
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/ratchet/rejected/")
    assert refs == "refs/ratchet/rejected/simplify/1"
    assert "Ratchet-Decision: rejected" in git(repo, "log", "-1", "--format=%B", refs)
    # The archived commit carries its evidence note too.
    note = json.loads(git(repo, "notes", "--ref", "ratchet", "show", refs))
    assert note["outcome"] == "rejected" and note["commit"] == git(repo, "rev-parse", refs)
    assert note["cause"].startswith("tests failed") and note["candidate"]["tests"]["output_tail"]
    log = ratchet("log", "--repo", str(repo))
    assert log.code == 0
    assert "REJECTED" in log.stdout and "failed tests-pass" in log.stdout
    log_json = json.loads(ratchet("log", "--repo", str(repo), "--json").stdout)
    assert log_json[-1]["outcome"] == "rejected"
    # A fresh clone (no journal, no notes) reads the snapshot; fetching the notes adds the
    # rules' values.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "fetch", "-q", "origin", "+refs/ratchet/*:refs/ratchet/*")
    bare = ratchet("log", "--repo", str(clone), "--verbose")
    assert bare.code == 0, bare.stderr
    assert "REJECTED" in bare.stdout and "cause: tests failed" in bare.stdout
    assert "failed tests-pass\n" in bare.stdout + "\n"  # no values without the note
    git(clone, "fetch", "-q", "origin", "refs/notes/ratchet:refs/notes/ratchet")
    full = ratchet("log", "--repo", str(clone), "--verbose")
    assert "failed tests-pass: tests-pass: candidate.tests.failed=" in full.stdout, full.stdout
    # --json --limit completes the entries it returns (only those) from their notes
    last = json.loads(ratchet("log", "--repo", str(clone), "--json", "--limit", "1").stdout)
    assert len(last) == 1 and last[0]["outcome"] == "rejected", last
    assert "evidence" not in last[0] and all("values" in r for r in last[0]["rules"]), last


def test_user_dirty_tree_and_untracked_files_are_untouched(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo / "calc" / "ops.py", (repo / "calc" / "ops.py").read_text() + "# wip\n")
    write(repo / "notes.txt", "untracked user notes\n")
    git(repo, "add", "notes.txt")
    write(repo / "scratch.py", "x = 1\n")
    state = snapshot_of_user_state(repo)
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )

    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    assert run.json["outcome"] == "merged"  # main is not checked out: ref update
    assert snapshot_of_user_state(repo) == state


def test_checked_out_dirty_target_is_pending_then_merged_when_clean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    original = (repo / "calc" / "ops.py").read_text()
    write(repo / "calc" / "__init__.py", "# local edit\n")
    state = snapshot_of_user_state(repo)
    before = git(repo, "rev-parse", "main")
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )

    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    assert run.json["outcome"] == "pending"
    assert git(repo, "rev-parse", "main") == before
    assert snapshot_of_user_state(repo) == state
    assert git(repo, "branch", "--list", "ratchet/simplify/1")

    git(repo, "checkout", "--", "calc/__init__.py")  # the user commits or drops the edit
    again = ratchet("run-once", "--repo", str(repo), "--json")
    assert again.code == 0, again.stderr
    assert again.json["outcome"] == "merged"
    assert git(repo, "rev-parse", "main") != before
    assert (repo / "calc" / "ops.py").read_text() != original  # fast-forwarded checkout
    assert git(repo, "status", "--porcelain") == ""


def test_checked_out_clean_target_is_fast_forwarded(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo / "untracked.txt", "mine\n")
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.json["outcome"] == "merged", run.stdout
    assert "(n > 0) + (n >= 10)" in (repo / "calc" / "ops.py").read_text()
    assert (repo / "untracked.txt").read_text() == "mine\n"
    assert git(repo, "status", "--porcelain") == "?? untracked.txt"


@pytest.mark.parametrize(
    ("edit", "guard"),
    [
        ({"file": "lib/other.py", "op": "create", "code": "X = 1\n"}, "guard-scope"),
        (
            {"file": "goals.yaml", "op": "rewrite", "code": "version: 1\ngoals: []\n"},
            "guard-protected",
        ),
        (
            {
                "file": "calc/ops.py",
                "op": "replace",
                "symbol": "classify",
                "code": "def classify(n):\n    return (\n",
            },
            "guard-parse",
        ),
        ({"file": "../escape.py", "op": "create", "code": "X = 1\n"}, "guard-path"),
    ],
    ids=["outside-scope", "protected-path", "unparsable", "path-traversal"],
)
def test_bad_edits_are_refused_before_anything_runs(
    tmp_path: Path, edit: dict[str, str], guard: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    before = git(repo, "rev-parse", "main")
    plan = plan_file(tmp_path / "plan.yaml", "Bad idea", [edit])
    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    result = run.json
    assert result["outcome"] == "rejected"
    assert result["candidate"] == {}  # nothing ran
    assert guard in {r["id"] for r in result["rules"] if not r["passed"]}
    assert "refused before anything ran" in result["message"]
    assert git(repo, "rev-parse", "main") == before
    assert not (tmp_path / "escape.py").exists()
    assert guard in ratchet("log", "--repo", str(repo)).stdout


def test_malformed_goals_yaml_exits_2_with_line_and_column(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(
        repo / "goals.yaml",
        "version: 1\ngoals:\n  - id: ok-goal\n    description: x\n    priorty: 3\n",
    )
    run = ratchet("run-once", "--repo", str(repo), "--json")
    assert run.code == 2
    assert "goals.yaml:5:5: goals[0].priorty" in run.stderr
    assert "priority" in run.stderr  # the fix: did you mean
    check = ratchet("check", "--repo", str(repo))
    assert check.code == 2 and "goals.yaml:5:5" in check.stderr
    assert not (repo / ".ratchet" / "journal.jsonl").exists()
    assert git(repo, "for-each-ref", "refs/ratchet/") == ""


def test_hung_test_suite_is_killed_and_rejected(tmp_path: Path) -> None:
    # the limit must leave room for the baseline's own (green) run on a loaded machine:
    # a baseline that times out stops the cycle as broken-baseline before any candidate
    repo = make_repo(tmp_path / "repo", directives={"timeouts": {"tests": 40}})
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Add a helper with a test",
        [
            {"file": "calc/ops.py", "op": "insert", "code": "def double(x):\n    return 2 * x\n"},
            {
                "file": "tests/test_hang.py",
                "op": "create",
                "code": (
                    "import time\n\n\ndef test_hang():\n    while True:\n        time.sleep(0.1)\n"
                ),
            },
        ],
    )
    goals = [
        {
            "id": "simplify",
            "description": "x",
            "scope": ["calc/**", "tests/**"],
            "provider": "scripted",
            "max_attempts": 1,
        }
    ]
    write(repo / "goals.yaml", json.dumps({"version": 1, "goals": goals}))
    git(repo, "commit", "-qam", "wider scope")
    before = git(repo, "rev-parse", "main")
    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    result = run.json
    assert result["outcome"] == "rejected"
    assert result["candidate"]["tests"]["timed_out"] is True
    assert result["candidate"]["tests"]["time_limit"] == 40.0  # min(tests, max(60, 5 x base))
    assert git(repo, "rev-parse", "main") == before
    leftovers = [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and "test_hang" in _cmdline(p)
    ]
    assert leftovers == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_malformed_plan_file_exits_2_and_leaves_no_trace(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = snapshot_of_user_state(repo)
    refs = git(repo, "for-each-ref")
    plan = write(
        tmp_path / "plan.yaml",
        "summary: x\nedits:\n  - file: calc/ops.py\n    op: replce\n    code: 'x = 1'\n",
    )
    run = ratchet("run-once", "--repo", str(repo), "--plan", str(plan), "--json")
    assert run.code == 2
    assert f"{plan}:4:9: edits[0].op" in run.stderr
    assert "replace" in run.stderr  # names the valid ops
    assert snapshot_of_user_state(repo) == state
    assert git(repo, "for-each-ref") == refs
    assert not (repo / ".ratchet" / "journal.jsonl").exists()


def test_init_never_overwrites_and_excludes_state_dir_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    goals = (repo / "goals.yaml").read_bytes()
    run = ratchet("init", "--repo", str(repo))
    assert run.code == 0, run.stderr
    assert (repo / "goals.yaml").read_bytes() == goals
    assert "kept" in run.stdout
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert exclude.count(".ratchet/") == 1
    assert not (repo / ".gitignore").exists()  # the user's .gitignore is never written


def test_revert_undoes_a_merge_in_one_command(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    git(repo, "checkout", "-q", "-b", "elsewhere")
    original = git(repo, "show", "main:calc/ops.py")
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    merged = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    ).json
    assert merged["outcome"] == "merged"
    state = snapshot_of_user_state(repo)

    run = ratchet("revert", merged["commit"], "--repo", str(repo))
    assert run.code == 0, run.stderr
    assert git(repo, "show", "main:calc/ops.py") == original
    assert git(repo, "rev-parse", "main^") == merged["commit"]
    assert snapshot_of_user_state(repo) == state


def test_review_mode_keeps_a_passing_candidate_on_its_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main", "merge": "review"})
    before = git(repo, "rev-parse", "main")
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    result = run.json
    assert result["outcome"] == "review"
    assert all(r["passed"] for r in result["rules"])
    assert git(repo, "rev-parse", "main") == before
    assert git(repo, "rev-parse", "ratchet/simplify/1") == result["commit"]
    assert "Ratchet-Decision: review" in git(repo, "log", "-1", "--format=%B", result["commit"])


def test_pending_candidate_is_rebased_and_reevaluated_when_the_target_moved(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo / "calc" / "__init__.py", '"""Calc package."""\n')  # the user's local change
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    first = ratchet(
        "run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan), "--json"
    )
    assert first.json["outcome"] == "pending", first.stdout

    git(repo, "commit", "-qam", "user: document the package")  # the target moves, clean now
    user_commit = git(repo, "rev-parse", "main")
    again = ratchet("run-once", "--repo", str(repo), "--json")
    assert again.code == 0, again.stderr
    result = again.json
    assert result["outcome"] == "merged", result["message"]
    assert result["target_before"] == user_commit
    assert any("rebased and re-evaluated" in note for note in result["notes"])
    assert result["baseline"]["commit"] == user_commit
    assert git(repo, "rev-parse", "main^") == user_commit  # linear, on top of the user
    assert "(n > 0) + (n >= 10)" in (repo / "calc" / "ops.py").read_text()
    assert (repo / "calc" / "__init__.py").read_text() == '"""Calc package."""\n'
    assert git(repo, "status", "--porcelain") == ""
    assert not git(repo, "branch", "--list", "ratchet/*")
    assert (repo / ".ratchet" / "pending.json").read_text().strip() == "[]"
