"""Crash-safe bookkeeping, part by part, on real repositories: what run-once puts away
before its cycle (engine.vcs.leftovers), candidate numbers that are never reused
(engine.records.numbers), the journal reconciled with the merges in git
(engine.records.reconcile), and SIGTERM handled from the CLI's first statement. The whole,
under real kills, is tests/test_fault_injection.py."""

from __future__ import annotations

import ast
import json
import os
import signal
import time
from pathlib import Path

import pytest

from engine.cli.signals import EXIT_TERMINATED, Terminated, install_early, unwind_on_sigterm
from engine.model import Identity
from engine.records import journal
from engine.records.layout import notes_index_file
from engine.records.numbers import allocate_number, numbers_path
from engine.records.reconcile import RECONCILED_NOTE, close_torn_line, reconcile_journal
from engine.vcs import Repository
from engine.vcs.leftovers import clean_leftovers
from tests.git_testing import BOT_ENV, HUMAN_ENV
from tests.repo_helpers import child_python, git, make_repo

ROOT = Path(__file__).resolve().parents[1]
BOT = Identity()


def commit(repo: Path, files: dict[str, str], message: str, env: dict[str, str]) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
        git(repo, "add", rel)
    git(repo, "commit", "-q", "-F", "-", env=env, input=message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, {"README": "hello\n"}, "initial", HUMAN_ENV)
    return root


def _branch(repo: Path, name: str, message: str | None, env: dict[str, str] = BOT_ENV) -> str:
    git(repo, "checkout", "-q", "-b", name, "main")
    if message is not None:
        commit(repo, {f"{name.replace('/', '_')}.py": "x = 1\n"}, message, env)
    tip = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    return tip


def _refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ") for line in out.splitlines())


# --------------------------------------------------------------------------- leftovers


def test_leftovers_of_dead_runs_are_put_away_and_kept_branches_stay(repo: Path) -> None:
    evaluating = "Flatten\n\nRatchet-Goal: g\nRatchet-Decision: evaluating\n"
    half = _branch(repo, "ratchet/g/1", evaluating)
    review = _branch(repo, "ratchet/g/2", "Flatten\n\nRatchet-Decision: review\n")
    pending = _branch(repo, "ratchet/g/3", "Flatten\n\nRatchet-Decision: pending\n")
    human = _branch(repo, "ratchet/g/4", "mine", HUMAN_ENV)
    merged = _branch(repo, "ratchet/g/5", "Flatten\n\nRatchet-Decision: merged\n")
    git(repo, "merge", "-q", "--ff-only", merged)  # merged, killed before its branch went
    repository = Repository.open(repo)
    killed = repository.add_worktree("g-6", commit="main", branch="ratchet/g/6")
    (killed / "half.py").write_text("def half():\n    pass\n")  # written, never committed
    baseline = repository.add_worktree("baseline-0123456789ab-999", commit="main", branch=None)
    stray = repository.worktrees_dir / "g-7"  # a directory git no longer knows
    stray.mkdir()
    revert = repository.add_worktree("revert-0123456789ab-cafe", commit="main", branch=None)
    torn_note = notes_index_file(repository.state_dir, "dead01")  # a note write killed midway
    torn_note.write_bytes(b"DIRC")

    left = clean_leftovers(repository, BOT)

    assert not left.errors
    assert left.partial_commits == (str(killed),)
    assert set(left.archived) == {
        "ratchet/g/1 -> refs/ratchet/rejected/g/1",
        "ratchet/g/6 -> refs/ratchet/rejected/g/6",
    }
    assert set(left.deleted) == {"ratchet/g/1", "ratchet/g/5", "ratchet/g/6"}
    assert left.human == ("ratchet/g/4",)
    assert not killed.exists() and not baseline.exists() and not stray.exists()
    assert revert.is_dir()  # `ratchet revert` may be using it (it takes no cycle lock)
    assert not torn_note.exists()
    refs = _refs(repo)
    assert refs["refs/ratchet/rejected/g/1"] == half
    assert "half.py" in git(repo, "show", "--name-only", "--format=", "refs/ratchet/rejected/g/6")
    assert "refs/ratchet/rejected/g/5" not in refs  # a merge is not archived as a rejection
    assert refs["refs/heads/ratchet/g/2"] == review
    assert refs["refs/heads/ratchet/g/3"] == pending
    assert refs["refs/heads/ratchet/g/4"] == human
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2  # main + revert
    assert not clean_leftovers(repository, BOT).changed  # idempotent


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("nothing", 1),
        ("worktree directory g-1 whose branch is gone", 2),
        ("archived refs/ratchet/rejected/g/3", 4),
        ("review branch ratchet/g/2", 3),
        ("journal: merged ratchet/g/5, branch deleted", 6),
        ("high-water mark 7, nothing else left", 8),
        ("another goal's numbers only", 1),
    ],
)
def test_a_candidate_number_that_ever_existed_is_never_handed_out(
    repo: Path, what: str, expected: int
) -> None:
    repository = Repository.open(repo)
    state = repository.state_dir
    state.mkdir()
    if what.startswith("worktree"):
        (repository.worktrees_dir / "g-1").mkdir(parents=True)
    elif what.startswith("archived"):
        git(repo, "update-ref", "refs/ratchet/rejected/g/3", "main")
    elif what.startswith("review"):
        git(repo, "branch", "ratchet/g/2", "main")
    elif what.startswith("journal"):
        (state / "journal.jsonl").write_text(
            json.dumps({"cycle_id": "c", "goal": "g", "branch": "ratchet/g/5"}) + "\n"
        )
    elif what.startswith("high-water"):
        numbers_path(state).write_text('{"g": 7}')
    elif what.startswith("another"):
        git(repo, "update-ref", "refs/ratchet/rejected/other/9", "main")
        (repository.worktrees_dir / "g-x-4").mkdir(parents=True)
        (repository.worktrees_dir / "other-3").mkdir(parents=True)

    assert allocate_number(repository, "g") == expected
    assert allocate_number(repository, "g") == expected + 1  # recorded before it is used
    assert json.loads(numbers_path(state).read_text())["g"] == expected + 1


def test_a_torn_high_water_file_is_not_fatal(repo: Path) -> None:
    repository = Repository.open(repo)
    repository.state_dir.mkdir()
    numbers_path(repository.state_dir).write_text('{"g": 4')  # killed mid-write (pre-rename)
    git(repo, "update-ref", "refs/ratchet/rejected/g/2", "main")
    assert allocate_number(repository, "g") == 3


# --------------------------------------------------------------------------- journal


def _ratchet_commit(repo: Path, cycle: str, decision: str = "merged") -> str:
    snapshot = {"cycle_id": cycle, "goal": "g", "outcome": decision, "branch": "ratchet/g/1"}
    message = (
        f"Flatten classify\n\nRatchet-Goal: g\nRatchet-Cycle: {cycle}\n"
        f"Ratchet-Decision: {decision}\n"
    )
    return commit(repo, {f"snapshots/{cycle}.json": json.dumps(snapshot)}, message, BOT_ENV)


def test_a_merge_the_journal_lacks_is_restored_from_git_once(repo: Path) -> None:
    repository = Repository.open(repo)
    state = repository.state_dir
    known = _ratchet_commit(repo, "20260101T000000Z-g-1-0001")
    state.mkdir()
    (state / "journal.jsonl").write_text(
        json.dumps({"cycle_id": "20260101T000000Z-g-1-0001", "commit": known}) + "\n"
    )
    first = _ratchet_commit(repo, "20260101T000100Z-g-2-0001")
    commit(repo, {"README": "human work\n"}, "a human commit in between", HUMAN_ENV)
    second = _ratchet_commit(repo, "20260101T000200Z-g-3-0001")
    # a kill mid-append left a torn line with no newline
    with (state / "journal.jsonl").open("a") as fh:
        fh.write('{"cycle_id": "torn')

    restored = reconcile_journal(repository, "main")

    assert restored == ("20260101T000100Z-g-2-0001", "20260101T000200Z-g-3-0001")
    entries = [e.data for e in journal.read_journal(state)]
    assert [e["cycle_id"] for e in entries] == [
        "20260101T000000Z-g-1-0001",
        *restored,
    ]
    assert [(e["outcome"], e["commit"], e["target_after"]) for e in entries[1:]] == [
        ("merged", first, first),
        ("merged", second, second),
    ]
    assert entries[1]["branch"] == "ratchet/g/1"  # from the snapshot in the commit
    assert RECONCILED_NOTE in entries[2]["notes"]
    assert reconcile_journal(repository, "main") == ()  # nothing is added twice
    assert allocate_number(repository, "g") == 2  # the restored branch numbers count


def test_only_merges_are_restored_and_a_missing_snapshot_falls_back_to_trailers(
    repo: Path,
) -> None:
    repository = Repository.open(repo)
    _ratchet_commit(repo, "20260101T000000Z-g-1-0001", decision="review")  # a human took it
    bare = commit(
        repo,
        {"calc.py": "x = 2\n"},
        "Bare merge\n\nRatchet-Goal: g\nRatchet-Cycle: 20260101T000900Z-g-9-0002\n"
        "Ratchet-Decision: merged\n",
        BOT_ENV,
    )
    assert reconcile_journal(repository, "main") == ("20260101T000900Z-g-9-0002",)
    (entry,) = [e.data for e in journal.read_journal(repository.state_dir)]
    assert (entry["goal"], entry["outcome"], entry["commit"]) == ("g", "merged", bare)
    assert entry["summary"] == "Bare merge"


@pytest.mark.parametrize(
    ("content", "torn"),
    [(b"", False), (b'{"a": 1}\n', False), (b'{"a": 1}\n{"b"', True)],
)
def test_close_torn_line(tmp_path: Path, content: bytes, torn: bool) -> None:
    (tmp_path / "journal.jsonl").write_bytes(content)
    assert close_torn_line(tmp_path) is torn
    data = (tmp_path / "journal.jsonl").read_bytes()
    assert data == content + (b"\n" if torn else b"")


# --------------------------------------------------------------------------- SIGTERM


def _first_call(body: list[ast.stmt]) -> str:
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            return func.id if isinstance(func, ast.Name) else ast.unparse(func)
    return ""


def test_both_cli_entries_install_the_handler_before_anything_else_runs() -> None:
    """``python -m engine.cli`` (the daemon's children) and the ``ratchet`` script both call
    ``install_early`` before importing the app, typer or any command."""
    main_module = ast.parse((ROOT / "engine" / "cli" / "__main__.py").read_text())
    assert _first_call(main_module.body) == "install_early"
    imports = [n for n in main_module.body if isinstance(n, ast.ImportFrom)]
    assert imports[0].module == "engine.cli.signals"  # nothing heavier is imported before
    package = ast.parse((ROOT / "engine" / "cli" / "__init__.py").read_text())
    (main,) = [n for n in package.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert _first_call(main.body) == "install_early"


def test_a_sigterm_right_after_the_early_handler_exits_with_the_documented_code() -> None:
    code = (
        "from engine.cli.signals import install_early\n"
        "install_early()\n"
        "import os, signal\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "import engine.cli.app\n"
        "print('still running')\n"
    )
    done = child_python("-c", code)
    assert done.returncode == EXIT_TERMINATED
    assert "still running" not in done.stdout and "Traceback" not in done.stderr


def test_sigterm_during_work_unwinds_once_and_then_lets_cleanup_finish() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    cleaned = []
    try:
        install_early()
        with pytest.raises(SystemExit) as early:
            os.kill(os.getpid(), signal.SIGTERM)
        assert early.value.code == EXIT_TERMINATED
        unwind_on_sigterm()
        with pytest.raises(Terminated):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # a second one during cleanup: ignored
                cleaned.append(True)
        assert not isinstance(Terminated(), Exception)  # `except Exception` never eats it
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert cleaned == [True]


SPLIT_POPEN = """
import os, signal, subprocess, sys
from engine.cli.signals import Terminated, unwind_on_sigterm
from engine.vcs import Repository

repo = Repository.open(sys.argv[1])
head = repo.rev_parse("HEAD")
real = subprocess.Popen._execute_child

def fork_then_signal(self, args, *rest, **kw):
    real(self, args, *rest, **kw)
    if "worktree" in args:  # the child runs; SIGTERM arrives before Popen() returns
        os.kill(os.getpid(), signal.SIGTERM)

subprocess.Popen._execute_child = fork_then_signal
unwind_on_sigterm()
try:
    repo.add_worktree("simplify-1", commit=head, branch="ratchet/simplify/1")
except Terminated:
    print("terminated")
"""


def test_sigterm_that_splits_a_git_start_is_raised_once_git_has_ended(tmp_path: Path) -> None:
    # CI found it: a SIGTERM between the fork of `git worktree add` and Popen's return left a
    # git nobody waited for, still making the worktree and branch the cleanup was undoing.
    repo = make_repo(tmp_path / "r")
    done = child_python("-c", SPLIT_POPEN, str(repo))
    assert done.stdout.strip() == "terminated", done.stderr
    assert "Traceback" not in done.stderr and "failed" not in done.stderr, done.stderr
    time.sleep(0.5)  # an unwaited git would still be adding by now
    assert git(repo, "branch", "--list", "ratchet/*") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not (repo / ".ratchet" / "worktrees" / "simplify-1").exists()
