"""``directives.workers``: concurrent cycles in one process (engine.cycle.workers).

The runner's scheduling is tested with a plain function for a goal's cycle (a barrier
proves that two run at once); numbers are allocated from many threads on a real repository;
one slow end-to-end run merges two goals at once through the real sandbox, the later merge
rebased and re-evaluated on the moved target.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from engine.cycle.fakes import MemoryJournal, MemoryPending
from engine.cycle.protocols import Seams
from engine.cycle.workers import Cancelled, Slot, headline, plan_slots, run_concurrently
from engine.model import CycleReport, Goal, Outcome
from engine.records.numbers import allocate_number
from engine.vcs import Repository
from tests.repo_helpers import FLAT_CLASSIFY, FLAT_SIGN, SIGN, git, make_repo, ratchet, write

A, B, C = (Goal(id=name, description=name) for name in ("a", "b", "c"))


def report(goal: str, outcome: Outcome) -> CycleReport:
    return CycleReport(cycle_id=f"id-{goal}", goal=goal, outcome=outcome, message="")


def seams(tmp_path: Path, steps: list[tuple[str, str]] | None = None) -> Seams:
    log = steps if steps is not None else []
    return Seams(
        repo=Repository(tmp_path),
        config=None,  # type: ignore[arg-type]  # the runner never reads it
        measurer=None,  # type: ignore[arg-type]
        write_records=lambda worktree, report, rationale: "",
        journal=MemoryJournal(),
        pending=MemoryPending(),
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        on_step=lambda goal, step: log.append((goal, step)),
    )


@pytest.mark.parametrize(
    ("goals", "workers", "varied", "expected"),
    [
        ((A, B, C), 2, set(), [("a", False), ("b", False), ("c", False)]),
        ((A,), 3, set(), [("a", False)]),  # a deterministic provider: no further proposal
        ((A,), 3, {"a"}, [("a", False), ("a", True), ("a", True)]),
        ((A, B), 4, {"b"}, [("a", False), ("b", False), ("b", True), ("b", True)]),
    ],
)
def test_slots(goals, workers, varied, expected) -> None:  # type: ignore[no-untyped-def]
    slots = plan_slots(goals, workers, lambda g: g.id in varied)
    assert [(s.goal.id, s.further) for s in slots] == expected


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["rejected", "merged", "nothing-to-do"], 1),
        (["merged", "error"], 1),
        (["review", "budget", "error"], 1),
        (["rejected", "review"], 1),
    ],
)
def test_headline(outcomes: list[Outcome], expected: int) -> None:
    reports = [report(str(i), o) for i, o in enumerate(outcomes)]
    assert headline(reports) is reports[expected]


def test_two_workers_run_two_goals_at_once(tmp_path: Path) -> None:
    both = threading.Barrier(2, timeout=10)  # breaks (and fails the run) unless both run

    def run_goal(s: Seams, goal: Goal) -> list[CycleReport]:
        both.wait()
        s.journal.append(report(goal.id, "rejected"))
        return [report(goal.id, "rejected")]

    s = seams(tmp_path)
    out = run_concurrently(s, [Slot(A), Slot(B), Slot(C)], 2, run_goal)
    assert sorted(r.goal or "" for r in out) == ["a", "b"]  # c: both workers were busy
    assert sorted(e.goal or "" for e in s.journal.read()) == ["a", "b"]


def test_an_idle_goal_hands_its_worker_the_next_one_and_skips_its_further_slots(
    tmp_path: Path,
) -> None:
    ran: list[str] = []

    def run_goal(s: Seams, goal: Goal) -> list[CycleReport]:
        ran.append(goal.id)
        return [report(goal.id, "nothing-to-do" if goal.id == "a" else "merged")]

    slots = [Slot(A), Slot(A, further=True), Slot(B)]
    out = run_concurrently(seams(tmp_path), slots, 1, run_goal)
    assert ran == ["a", "b"]
    assert [r.outcome for r in out] == ["nothing-to-do", "merged"]


def test_a_failing_worker_stops_the_others_at_their_next_step(tmp_path: Path) -> None:
    steps: list[tuple[str, str]] = []
    failed = threading.Event()

    def run_goal(s: Seams, goal: Goal) -> list[CycleReport]:
        if goal.id == "a":
            failed.set()
            raise RuntimeError("git broke")
        failed.wait(10)
        for _ in range(100):  # the next step raises Cancelled once the run is stopping
            s.on_step(goal.id, "evaluate")
            threading.Event().wait(0.05)
        return [report(goal.id, "merged")]

    with pytest.raises(RuntimeError, match="git broke"):
        run_concurrently(seams(tmp_path, steps), [Slot(A), Slot(B)], 2, run_goal)
    assert len(steps) < 100  # b was cancelled, not run to its end


def test_cancelled_is_not_an_exception_a_step_could_swallow() -> None:
    assert not issubclass(Cancelled, Exception)


def test_branch_numbers_stay_unique_under_threads(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root / "f.txt", "x\n")
    git(root, "add", "-A")
    git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "one")
    repo = Repository.open(root)
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda _: allocate_number(repo, "g"), range(40)))
    assert sorted(numbers) == list(range(1, 41))


EXTRA_TESTS = """\
from calc.extra import sign


def test_sign():
    assert [sign(-5), sign(0), sign(7)] == [-1, 0, 1]
"""


def _plan(path: Path, summary: str, file: str, symbol: str, code: str) -> None:
    edit = {"file": file, "op": "replace", "symbol": symbol, "code": code}
    write(path, yaml.safe_dump({"summary": summary, "edits": [edit]}, sort_keys=False))


@pytest.mark.slow
@pytest.mark.sandbox
def test_two_goals_merge_at_once_the_later_one_rebased_and_reevaluated(tmp_path: Path) -> None:
    goals = [
        {"id": "ops", "description": "Flatten classify.", "scope": ["calc/ops.py"]},
        {"id": "extra", "description": "Flatten sign.", "scope": ["calc/extra.py"]},
    ]
    for goal in goals:
        goal.update(provider="scripted", max_attempts=1, priority=1)
        goal["options"] = {"plans": [f"plans/{goal['id']}.yaml"]}
    repo = make_repo(
        tmp_path / "repo",
        goals=goals,
        directives={"workers": 2, "target_branch": "main"},
        files={
            "calc/extra.py": SIGN,
            "tests/test_extra.py": EXTRA_TESTS,
        },
    )
    _plan(repo / "plans/ops.yaml", "Flatten classify", "calc/ops.py", "classify", FLAT_CLASSIFY)
    _plan(repo / "plans/extra.yaml", "Flatten sign", "calc/extra.py", "sign", FLAT_SIGN)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "plans")
    git(repo, "checkout", "-q", "-b", "elsewhere")  # main is not checked out: a CAS of the ref
    start = git(repo, "rev-parse", "main")

    run = ratchet("run-once", "--repo", str(repo), "--workers", "2", "--json")

    assert run.code == 0, run.stderr
    lines = (repo / ".ratchet" / "journal.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # whole lines: none torn or interleaved
    assert sorted((e["goal"], e["outcome"]) for e in entries) == [
        ("extra", "merged"),
        ("ops", "merged"),
    ]
    rebased = [e for e in entries if any("rebased and re-evaluated" in n for n in e["notes"])]
    assert len(rebased) == 1  # the later merge found the target moved
    assert rebased[0]["baseline"]["commit"] != start
    assert git(repo, "rev-list", "--count", f"{start}..main") == "2"  # linear, both landed
    assert "return (n > 0) - (n < 0)" in git(repo, "show", "main:calc/extra.py")
    assert "[(n > 0) + (n >= 10)]" in git(repo, "show", "main:calc/ops.py")
    branches = sorted(e["branch"] for e in entries)
    assert branches == ["ratchet/extra/1", "ratchet/ops/1"]
    assert git(repo, "branch", "--list", "ratchet/*") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    git(repo, "fsck", "--full")
    assert json.loads(run.stdout.strip().splitlines()[-1])["outcome"] == "merged"


def test_run_once_workers_is_validated(tmp_path: Path) -> None:
    run = ratchet("run-once", "--repo", str(tmp_path), "--workers", "0")
    assert run.code == 2
    assert "--workers" in run.stderr
