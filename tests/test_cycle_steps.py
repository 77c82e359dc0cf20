"""The cycle's steps one by one, through the in-package fakes (engine.cycle.fakes): a real
git repository, the real patcher and gate, a fixed measurer instead of the sandbox."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.config import load_config
from engine.cycle import naming
from engine.cycle.attempt import begin, commit_and_measure, patch, with_plan
from engine.cycle.fakes import FixedClock, FixedMeasurer, MemoryJournal, MemoryPending, StepLog
from engine.cycle.finish import candidate_worktree, settle
from engine.cycle.merge import Landed, conclude, decide, land
from engine.cycle.orchestrator import Cycle, CycleRequest
from engine.cycle.pending import retry_pending
from engine.cycle.protocols import Seams
from engine.cycle.state import Attempt, Ending
from engine.model import (
    ChangeFacts,
    CycleReport,
    Edit,
    LintMetrics,
    Metrics,
    Proposal,
    TestMetrics,
)
from engine.model.journal import JournalEntry, PendingMerge
from engine.providers.scripted import ScriptedProvider
from engine.records.commit import GitRecordWriter
from engine.vcs import Repository
from tests.repo_helpers import FLAT_CLASSIFY, git, make_repo

BASE = Metrics(tests=TestMetrics(passed=2, collected=2), lint=LintMetrics(violations=3))
BETTER = dataclasses.replace(BASE, lint=LintMetrics(violations=1))
PLAN = Proposal(
    summary="Flatten classify",
    edits=(Edit(file="calc/ops.py", op="replace", symbol="classify", code=FLAT_CLASSIFY),),
    provider="scripted",
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("template") / "repo")


@pytest.fixture
def repo_dir(template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(template), str(dest))
    git(dest, "config", "user.name", "Test User")
    git(dest, "config", "user.email", "user@example.invalid")
    return dest


def seams(root: Path, candidate: Metrics = BETTER, **over: object) -> Seams:
    repo = Repository.open(root)
    config = load_config(root)
    parts: dict[str, object] = {
        "repo": repo,
        "config": config,
        "measurer": FixedMeasurer(BASE, candidate),
        "write_records": GitRecordWriter(repo, config.directives.identity),
        "journal": MemoryJournal(),
        "pending": MemoryPending(),
        "clock": FixedClock(),
        "on_step": StepLog(),
    }
    parts.update(over)
    return Seams(**parts)  # type: ignore[arg-type]


def tip(s: Seams) -> str:
    return s.repo.rev_parse("refs/heads/main") or ""


def test_a_whole_cycle_through_the_fakes_merges_and_journals(repo_dir: Path) -> None:
    repo = Repository.open(repo_dir)
    config = load_config(repo_dir)
    journal, steps = MemoryJournal(), StepLog()
    before = repo.rev_parse("refs/heads/main")
    cycle = Cycle(
        repo,
        config,
        FixedMeasurer(BASE, BETTER),
        make_provider=lambda goal: ScriptedProvider([PLAN]),
        clock=FixedClock(),
        on_step=steps,
        journal=journal,
        pending=MemoryPending(),
    )
    (report,) = cycle.run(CycleRequest())
    assert report.outcome == "merged", report.message
    assert report.branch == "ratchet/simplify/1"
    assert report.target_before == before and report.target_after == report.commit
    assert repo.rev_parse("refs/heads/main") == report.commit
    assert not repo.branch_exists("ratchet/simplify/1")
    assert [r.outcome for r in journal.reports] == ["merged"]
    assert [step for _, step in steps.steps] == [
        "baseline",
        "worktree",
        "propose",
        "patch",
        "commit",
        "evaluate",
        "rules",
        "records",
        "merge",
    ]
    # Every timed step is in the report, in seconds (the fake measurer times nothing inside).
    timed = ["baseline", "worktree", "propose", "patch", "commit", "rules", "records", "merge"]
    assert list(report.timings) == timed
    assert all(v >= 0 for v in report.timings.values())
    # The accepted change is one commit: the code and its records.
    files = git(repo_dir, "show", "--name-only", "--format=", str(report.commit)).split()
    assert sorted(files) == sorted(["calc/ops.py", *naming_records(report.cycle_id)])


def naming_records(cycle_id: str) -> list[str]:
    from engine.gate.paths import record_paths

    return list(record_paths(cycle_id)[:2])  # a goal without a plan or questions


def test_begin_names_the_attempt_and_reuses_a_baseline_of_the_same_tip(repo_dir: Path) -> None:
    s = seams(repo_dir)
    measurer = s.measurer
    assert isinstance(measurer, FixedMeasurer)
    known = dataclasses.replace(BASE, commit=tip(s))
    a = begin(s, s.config.goals[0], "main", 1, known)
    assert a.branch == naming.candidate_branch("simplify", 1) == "ratchet/simplify/1"
    assert a.cycle_id.startswith("20260101T000000Z-simplify-1-")
    assert a.baseline is known and measurer.calls == []
    stale = dataclasses.replace(BASE, commit="0" * 40)
    again = begin(s, s.config.goals[0], "main", 1, stale)
    assert measurer.calls == [("baseline", tip(s))]
    assert again.baseline is not None and again.baseline.commit == tip(s)


def test_an_attempt_is_frozen_and_grows_by_replacement(repo_dir: Path) -> None:
    s = seams(repo_dir)
    a = begin(s, s.config.goals[0], "main", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.notes = ("x",)  # type: ignore[misc]
    b = a.noted("one")
    assert a.notes == () and b.notes == ("one",)
    ended = with_plan(a, Proposal(summary="nothing here"))
    assert isinstance(ended, Ending) and ended.outcome == "nothing-to-do"
    assert ended.message == "nothing here" and a.proposal is None


@pytest.mark.parametrize(
    ("edit", "guard"),
    [
        (Edit(file="tests/test_ops.py", op="rewrite", code="x = 1\n"), "guard-scope"),
        (Edit(file="calc/ops.py", op="delete", symbol="nope"), "guard-symbol"),
        (Edit(file="../escape.py", op="create", code="x = 1\n"), "guard-path"),
    ],
)
def test_patch_refuses_a_bad_plan_before_anything_runs(
    repo_dir: Path, edit: Edit, guard: str
) -> None:
    s = seams(repo_dir)
    a = with_plan(begin(s, s.config.goals[0], "main", 1), Proposal(summary="bad", edits=(edit,)))
    assert isinstance(a, Attempt)
    with candidate_worktree(s, a, a.target_before) as worktree:
        result = patch(s, a, worktree, [])
    assert isinstance(result, Ending) and result.outcome == "rejected"
    assert result.attempt.decision is not None
    assert guard in {o.id for o in result.attempt.decision.outcomes}
    assert tip(s) == a.target_before
    assert s.repo.rev_parse(f"refs/heads/{a.branch}") == a.target_before  # nothing committed


def test_patch_does_not_evaluate_a_change_rejected_before(repo_dir: Path) -> None:
    s = seams(repo_dir)
    a = with_plan(begin(s, s.config.goals[0], "main", 1), PLAN)
    assert isinstance(a, Attempt)
    with candidate_worktree(s, a, a.target_before) as worktree:
        first = patch(s, a, worktree, [])
        assert isinstance(first, tuple)
        journal = MemoryJournal(
            [
                CycleReport(
                    cycle_id="c0",
                    goal="simplify",
                    outcome="rejected",
                    fingerprint=first[0].fingerprint,
                )
            ]
        )
        again = patch(s, a, worktree, journal.read())
    assert isinstance(again, Ending) and again.outcome == "nothing-to-do"
    assert "rejected before" in again.message


def measured(s: Seams, plan: Proposal = PLAN) -> tuple[Attempt, Path]:
    """A candidate committed and measured (the caller removes the worktree)."""
    a = with_plan(begin(s, s.config.goals[0], "main", 1), plan)
    assert isinstance(a, Attempt)
    worktree = s.repo.add_worktree("steps-1", commit=a.target_before, branch=a.branch)
    patched = patch(s, a, worktree, [])
    assert isinstance(patched, tuple)
    return commit_and_measure(s, patched[0], worktree, patched[1]), worktree


def test_the_gate_recounts_the_change_from_git_not_from_the_producer(repo_dir: Path) -> None:
    s = seams(repo_dir)
    a, worktree = measured(s)
    lie = ChangeFacts(files=("README.md",), lines_added=1, empty=False)
    judged = decide(s, dataclasses.replace(a, change=lie), 1.0)
    assert judged.change is not None
    assert judged.change.files == ("calc/ops.py",)
    assert judged.change.symbols == ("calc/ops.py::classify",)
    assert judged.change.lines_added > 1 and judged.change.protected == ()
    assert judged.decision is not None and judged.decision.kind == "merge"
    s.repo.remove_worktree(worktree)


def test_the_gate_sees_a_protected_path_the_patcher_did_not_report(repo_dir: Path) -> None:
    s = seams(repo_dir)
    a, worktree = measured(s)
    # A producer slipped an edit to the rules into the candidate commit after patching.
    (worktree / "rules" / "default.yaml").write_text("rules: []\n", encoding="utf-8")
    commit = s.repo.amend_all(
        worktree, message="Flatten classify", author=s.config.directives.identity
    )
    a = dataclasses.replace(a, candidate=dataclasses.replace(BETTER, commit=commit))
    judged = decide(s, a, 1.0)
    assert judged.change is not None and "rules/default.yaml" in judged.change.protected
    assert judged.decision is not None and judged.decision.kind != "merge"
    s.repo.remove_worktree(worktree)


def test_a_human_acceptance_turns_review_into_merge_but_never_a_rejection(
    repo_dir: Path,
) -> None:
    s = seams(repo_dir)
    directives = dataclasses.replace(s.config.directives, merge="review")
    s = dataclasses.replace(s, config=dataclasses.replace(s.config, directives=directives))
    a, worktree = measured(s)
    asked = decide(s, a, 1.0)
    assert asked.decision is not None and asked.decision.kind == "review"
    accepted = decide(s, dataclasses.replace(a, accepted=True), 1.0)
    assert accepted.decision is not None and accepted.decision.kind == "merge"
    assert "accepted by a human: rules that asked for review overridden" in accepted.notes
    worse = dataclasses.replace(BASE, lint=LintMetrics(violations=9), commit=a.evaluated)
    refused = decide(s, dataclasses.replace(a, candidate=worse, accepted=True), 1.0)
    assert refused.decision is not None and refused.decision.kind == "reject"
    s.repo.remove_worktree(worktree)


class SmugglingWriter:
    """A record writer that also changes code while writing the records."""

    def __init__(self, inner: GitRecordWriter) -> None:
        self.inner = inner

    def __call__(self, worktree: Path, report: CycleReport, rationale: str) -> str:
        (worktree / "calc" / "ops.py").write_text("def add(a, b):\n    return 0\n")
        return self.inner(worktree, report, rationale)


def test_a_record_writer_that_smuggles_code_is_refused_before_the_ref_moves(
    repo_dir: Path,
) -> None:
    honest = seams(repo_dir)
    assert isinstance(honest.write_records, GitRecordWriter)
    s = dataclasses.replace(honest, write_records=SmugglingWriter(honest.write_records))
    a, worktree = measured(s)
    before = tip(s)
    judged = decide(s, a, 1.0)
    assert judged.decision is not None and judged.decision.kind == "merge"
    result = land(s, judged, worktree, 1.0)
    assert isinstance(result, Ending) and result.outcome == "rejected"
    assert "outside the cycle's records: calc/ops.py" in result.message
    assert tip(s) == before
    report = settle(s, worktree, result)
    assert report.rejected_ref == "refs/ratchet/rejected/simplify/1"
    assert tip(s) == before
    s.repo.remove_worktree(worktree)


def test_an_honest_record_writer_lands_the_evaluated_change(repo_dir: Path) -> None:
    s = seams(repo_dir)
    a, worktree = measured(s)
    result = conclude(s, decide(s, a, 1.0), worktree, 1.0)
    assert isinstance(result, Landed)
    assert tip(s) == result.report.commit
    assert s.repo.show_file(tip(s), "calc/ops.py") == s.repo.show_file(a.evaluated, "calc/ops.py")
    s.repo.remove_worktree(worktree)


def test_rules_that_fail_end_rejected_and_archived(repo_dir: Path) -> None:
    worse = dataclasses.replace(BASE, lint=LintMetrics(violations=9))
    s = seams(repo_dir, candidate=worse)
    a, worktree = measured(s)
    result = conclude(s, decide(s, a, 1.0), worktree, 1.0)
    assert isinstance(result, Ending) and result.outcome == "rejected"
    assert "lint-ratchet" in result.message
    report = settle(s, worktree, result)
    assert s.repo.rev_parse(str(report.rejected_ref)) == report.commit
    assert not s.repo.branch_exists(a.branch)
    s.repo.remove_worktree(worktree)


def test_a_dirty_checked_out_target_makes_the_merge_pending(repo_dir: Path) -> None:
    s = seams(repo_dir)
    (repo_dir / "calc" / "ops.py").write_text("# local edit\n", encoding="utf-8")
    a, worktree = measured(s)
    before = tip(s)
    result = conclude(s, decide(s, a, 1.0), worktree, 1.0)
    assert isinstance(result, Ending) and result.outcome == "pending"
    report = settle(s, worktree, result)
    assert tip(s) == before and s.repo.branch_exists(a.branch)
    pending = s.pending.read()
    assert [(p.branch, p.commit, p.evaluated) for p in pending] == [
        (a.branch, report.commit, a.evaluated)
    ]
    s.repo.remove_worktree(worktree)


def test_a_pending_commit_that_is_not_what_was_evaluated_never_lands(repo_dir: Path) -> None:
    s = seams(repo_dir)
    a, worktree = measured(s)
    # The queued commit changes code after evaluation (a tampered pending queue).
    (worktree / "calc" / "ops.py").write_text("def add(a, b):\n    return 0\n")
    landed = s.repo.amend_all(worktree, message="x", author=s.config.directives.identity)
    s.repo.remove_worktree(worktree)
    before = tip(s)
    entry = PendingMerge(
        goal="simplify",
        branch=a.branch,
        commit=landed,
        target="main",
        target_before=before,
        cycle_id=a.cycle_id,
        evaluated=a.evaluated,
    )
    s.pending.write([entry])
    report = retry_pending(s)
    assert report is not None and report.outcome == "rejected"
    assert "outside the cycle's records: calc/ops.py" in report.message
    assert tip(s) == before and s.pending.read() == []
    assert s.repo.rev_parse(str(report.rejected_ref)) == landed


def entry(goal: str, outcome: str, started: str, **extra: object) -> JournalEntry:
    return JournalEntry.from_json(
        {"cycle_id": started, "goal": goal, "outcome": outcome, "started": started, **extra}
    )


def test_selection_orders_by_priority_then_least_recently_tried(repo_dir: Path) -> None:
    from engine.cycle.selection import order_goals, rejected_fingerprints, rejection_history

    goal = load_config(repo_dir).goals[0]
    a = dataclasses.replace(goal, id="a", priority=1)
    b = dataclasses.replace(goal, id="b", priority=5)
    c = dataclasses.replace(goal, id="c", priority=5)
    paused = dataclasses.replace(goal, id="p", priority=9, status="paused")
    history = [
        entry(
            "b",
            "rejected",
            "2",
            summary="s",
            fingerprint="f1",
            rules=[{"id": "r", "passed": False, "detail": "d"}],
        ),
        entry("c", "merged", "1", fingerprint="f2"),
    ]
    assert [g.id for g in order_goals([a, b, c, paused], history)] == ["c", "b", "a"]
    assert [g.id for g in order_goals([a, b], history, "a")] == ["a"]
    assert rejection_history(history, "b") == ("s -> r: d",)
    assert rejection_history(history, "b", 0) == ()  # goal option earlier_rejections: 0
    assert rejected_fingerprints(history) == {"f1"}


TANGLED_TEST = """\
from calc.ops import classify


def test_every_class():
    for n in range(-3, 30):
        if n < 0:
            assert classify(n) == "negative"
        elif n == 0:
            assert classify(n) == "zero"
        elif n < 10:
            assert classify(n) == "small"
        else:
            while n > 100:
                n -= 1
            assert classify(n) == "large"
"""


def test_a_planned_goal_works_on_code_before_its_more_complex_tests(tmp_path: Path) -> None:
    """toolz 1.2: a test function (its file "uncovered": tests are not measured) ranked
    first, and the plan's first sub-task was to simplify a test."""
    from engine.cycle.planning import Planner
    from engine.model import Goal

    root = make_repo(tmp_path / "repo", files={"tests/test_tangled.py": TANGLED_TEST})
    s = seams(root)
    goal = Goal(id="simplify", description="Simplify.", options={"decompose": True})
    assert Planner().subtask(s, goal, tip(s), BASE, "scripted", ()) == "calc/ops.py:classify"
    tests_only = dataclasses.replace(goal, scope=("tests/**",))  # a goal about the tests
    assert Planner().subtask(s, tests_only, tip(s), BASE, "scripted", ()) == (
        "tests/test_tangled.py:test_every_class"
    )
