"""``benchmarks/improvement.py --memory off`` really takes the learned memory out of the
prompt: the benchmark's own sample set-up (``make_sample``), the real cycle, git and
records; only the model (the scripted provider) and the measurer (fixed metrics whose
tests fail, so every candidate is rejected by ``tests-pass``) are fakes.

The same history is built with memory on and off — one rejected ``type-hints`` attempt,
then five rejected ``flatten-letter`` attempts (the fifth distils lessons) — and the sixth
``flatten-letter`` prompt is compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.improvement import make_sample
from engine.config import load_config
from engine.cycle.fakes import FixedMeasurer
from engine.cycle.orchestrator import Cycle, CycleRequest
from engine.model import Edit, Metrics, Proposal, TestMetrics
from engine.providers.base import ProposalRequest
from engine.providers.context import build_context
from engine.providers.scripted import ScriptedProvider
from engine.recall.recall import EMBEDDER_ENV
from engine.records.distil import lessons_path
from engine.records.layout import failure_memory_file
from engine.vcs import Repository
from tests.repo_helpers import git

pytestmark = [pytest.mark.slow]

PASSING = Metrics(tests=TestMetrics(passed=1, collected=1))
FAILING = Metrics(tests=TestMetrics(passed=0, failed=1, collected=1))
HUMAN_LESSON = "Keep letter's results for every score from 0 to 100."
MEMORY_SECTIONS = (
    "## Lessons distilled from this goal's records",
    "## Why earlier attempts were rejected",
    "## Already tried, and why it failed",
)


def attempt(root: Path, goal: str, grade: str) -> tuple[str, ProposalRequest]:
    """One cycle of ``goal`` whose plan makes ``letter`` return ``grade``: its outcome and
    the request the provider was given."""
    code = f'def letter(score):\n    return "{grade}"\n'
    plan = Proposal(
        summary=f"Make letter return {grade}",
        edits=(Edit(file="grade/scores.py", op="replace", symbol="letter", code=code),),
        provider="scripted",
    )
    provider = ScriptedProvider([plan])
    config = load_config(root)
    measurer = FixedMeasurer(PASSING, FAILING)
    cycle = Cycle(Repository.open(root), config, measurer, make_provider=lambda g: provider)
    report = cycle.run(CycleRequest(goal_id=goal))[-1]
    (request,) = provider.requests
    return report.outcome, request


def sixth_prompt(root: Path) -> tuple[ProposalRequest, str]:
    (root / "memory-bank").mkdir(exist_ok=True)
    (root / "memory-bank" / "lessons.md").write_text(f"# Lessons\n\n- {HUMAN_LESSON}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the humans' lessons")
    assert attempt(root, "type-hints", "A")[0] == "rejected"
    for grade in "BCDEF":
        assert attempt(root, "flatten-letter", grade)[0] == "rejected"
    outcome, request = attempt(root, "flatten-letter", "G")
    assert outcome == "rejected"
    return request, build_context(request).render()


@pytest.fixture(autouse=True)
def hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EMBEDDER_ENV, "hashing")  # fast and deterministic; the path is the same


def test_memory_on_shows_every_learned_section(tmp_path: Path) -> None:
    root = make_sample("complexity", tmp_path / "on", "http://127.0.0.1:9/v1", "none", "on")
    request, prompt = sixth_prompt(root)
    assert len(request.history) == 5 and "Make letter return F" in request.history[-1]
    assert any("Make letter return A" in s for s in request.similar)  # the other goal's
    assert request.goal_lessons[0] == "5 attempts at goal flatten-letter: 5 rejected."
    for title in (*MEMORY_SECTIONS, "## Lessons from earlier work"):
        assert title in prompt
    assert HUMAN_LESSON in prompt


def test_memory_off_leaves_only_the_humans_lessons(tmp_path: Path) -> None:
    root = make_sample("complexity", tmp_path / "off", "http://127.0.0.1:9/v1", "none", "off")
    request, prompt = sixth_prompt(root)
    assert (request.history, request.similar, request.goal_lessons) == ((), (), ())
    for title in MEMORY_SECTIONS:
        assert title not in prompt
    assert "Make letter return" not in prompt  # no earlier attempt, under any title
    assert "## Lessons from earlier work" in prompt and HUMAN_LESSON in prompt
    # nothing distilled into the records, and the failure store was never opened
    refs = git(root, "for-each-ref", "--format=%(refname)", "refs/ratchet/rejected/").split()
    assert len(refs) == 7
    for ref in refs:
        assert git(root, "ls-tree", "-r", "--name-only", ref, "memory-bank/lessons/") == ""
    assert lessons_path("flatten-letter") not in git(root, "ls-tree", "-r", "--name-only", "HEAD")
    assert not failure_memory_file(root / ".ratchet").exists()
