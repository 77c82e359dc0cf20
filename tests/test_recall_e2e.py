"""Failure memory and distilled lessons end to end: real git repositories, the real
sandboxed measurer, the scripted provider (which keeps every request it was asked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_config
from engine.cycle.orchestrator import Cycle, CycleRequest
from engine.gate.measure import make_measurer
from engine.model import CycleReport, Edit, Proposal
from engine.providers.context import build_context
from engine.providers.scripted import ScriptedProvider
from engine.recall.recall import query_text, rebuild, store_for
from engine.records.distil import bullets, lessons_path
from engine.records.failures import failure_docs
from engine.records.journal import read_journal
from engine.vcs import Repository
from tests.repo_helpers import BROKEN_CLASSIFY, git, make_repo, snapshot_of_user_state

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

GOALS = [
    {
        "id": "simplify",
        "description": "Flatten nested branches in classify.",
        "priority": 5,
        "scope": ["calc/**/*.py"],
        "provider": "scripted",
        "max_attempts": 1,
        "options": {"lessons_every": 2},
    },
    {
        "id": "tidy",
        "description": "Make classify in calc/ops.py shorter.",
        "priority": 1,
        "scope": ["calc/**/*.py"],
        "provider": "scripted",
        "max_attempts": 1,
    },
]


def broken(summary: str, value: str) -> Proposal:
    code = BROKEN_CLASSIFY.replace('"small"', f'"{value}"')
    return Proposal(
        summary=summary,
        edits=(Edit(file="calc/ops.py", op="replace", symbol="classify", code=code),),
        provider="scripted",
    )


def run(root: Path, goal: str, plan: Proposal) -> tuple[CycleReport, ScriptedProvider]:
    repo = Repository.open(root)
    config = load_config(root)
    provider = ScriptedProvider([plan])
    cycle = Cycle(repo, config, make_measurer(config.directives), make_provider=lambda g: provider)
    reports = cycle.run(CycleRequest(goal_id=goal))
    return reports[-1], provider


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", goals=GOALS, directives={"target_branch": "main"})


def test_a_rejected_attempt_is_shown_with_its_cause_to_the_next_similar_goal(root: Path) -> None:
    first, _ = run(root, "simplify", broken("Return one label from classify", "small"))
    assert first.outcome == "rejected", first.message

    second, provider = run(root, "tidy", broken("Shorten classify to a constant", "zero"))
    (request,) = provider.requests
    assert len(request.similar) == 1
    (line,) = request.similar
    assert line.startswith("Return one label from classify [goal simplify; calc/ops.py (+")
    assert "failed: tests failed: tests/test_ops.py" in line  # the real cause, not the rule
    prompt = build_context(request).render()
    assert "## Already tried, and why it failed" in prompt
    assert line in prompt
    assert (root / ".ratchet" / "memory" / "failures.sqlite").is_file()
    # the goal's own rejection in the same cycle is listed once, not twice
    third, provider = run(root, "simplify", broken("Make classify return zero", "large"))
    (request,) = provider.requests
    assert any("Return one label from classify" in h for h in request.history)
    assert not any("Return one label from classify" in s for s in request.similar)
    assert any("Shorten classify to a constant" in s for s in request.similar)  # other goal


def test_the_store_rebuilt_from_git_in_a_fresh_clone_gives_the_same_neighbours(
    root: Path, tmp_path: Path
) -> None:
    for goal, summary, value in (
        ("simplify", "Return one label from classify", "small"),
        ("tidy", "Shorten classify to a constant", "zero"),
        ("simplify", "Make classify return large", "large"),
    ):
        report, _ = run(root, goal, broken(summary, value))
        assert report.outcome == "rejected", report.message
    goal = load_config(root).goals[1]
    query = query_text(goal, "tests failed in classify")
    store = store_for(Repository.open(root))
    store.sync(failure_docs(read_journal(root / ".ratchet")))  # as the next cycle does
    here = store.nearest(query, 3)
    assert len(here) == 3, here
    assert {n.goal for n in here} == {"simplify", "tidy"}

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/ratchet/*:refs/ratchet/*")
    assert not (clone / ".ratchet").exists()
    there = rebuild(Repository.open(clone)).nearest(query, 3)
    assert [(n.cycle_id, n.line) for n in there] == [(n.cycle_id, n.line) for n in here]
    assert [round(n.score, 6) for n in there] == [round(n.score, 6) for n in here]


def test_lessons_appear_after_n_attempts_in_the_records_and_in_the_next_prompt(
    root: Path,
) -> None:
    user_before = snapshot_of_user_state(root)
    first, provider = run(root, "simplify", broken("Return one label from classify", "small"))
    assert provider.requests[0].goal_lessons == ()
    files = git(root, "show", "--name-only", "--format=", str(first.commit)).split()
    assert lessons_path("simplify") not in files

    second, provider = run(root, "simplify", broken("Make classify return zero", "zero"))
    assert provider.requests[0].goal_lessons == ()  # one attempt so far: not due yet
    assert second.outcome == "rejected" and second.rejected_ref
    files = git(root, "show", "--name-only", "--format=", str(second.commit)).split()
    assert lessons_path("simplify") in files
    text = git(root, "show", f"{second.rejected_ref}:{lessons_path('simplify')}")
    assert "2 attempts at goal simplify: 2 rejected" in text
    assert "rule tests-pass rejected 2 of 2" in text or "rejected 2 of 2 failed changes" in text
    assert "calc/ops.py: in 2 of 2 rejected changes" in text
    assert snapshot_of_user_state(root) == user_before  # never in the user's working tree
    assert not (root / lessons_path("simplify")).exists()

    _, provider = run(root, "simplify", broken("Make classify return large", "large"))
    (request,) = provider.requests
    assert request.goal_lessons == bullets(text)
    prompt = build_context(request).render()
    assert "## Lessons distilled from this goal's records" in prompt
    assert "- 2 attempts at goal simplify: 2 rejected." in prompt
