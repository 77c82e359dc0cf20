"""Self-review: the model reviews its own diff before evaluation; "off-goal" or
"changes-behaviour" sends it back (an attempt), "ok" goes on to the gate. Real git, the
real cycle and provider pipeline; only the model (a function) and the sandbox are fakes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from engine.config import load_config
from engine.cycle.fakes import FixedClock, FixedMeasurer, MemoryJournal, MemoryPending, StepLog
from engine.cycle.orchestrator import Cycle, CycleRequest
from engine.errors import ConfigError, ProviderTransient
from engine.model import LintMetrics, Metrics, Proposal, TestMetrics
from engine.providers.base import ProposalRequest, Review, ReviewRequest
from engine.providers.fallback import FallbackProvider
from engine.providers.llm import LLMProvider, LLMSettings
from engine.providers.review import MAX_DIFF_CHARS, REVIEW_SCHEMA, read_review, review_prompt
from engine.providers.transport import CallableTransport, LLMReply, LLMRequest
from engine.vcs import Repository
from tests.repo_helpers import FLAT_CLASSIFY, git, make_repo

BASE = Metrics(tests=TestMetrics(passed=2, collected=2), lint=LintMetrics(violations=3))
BETTER = dataclasses.replace(BASE, lint=LintMetrics(violations=1))
OFF_GOAL = 'def classify(n):\n    return "zero"\n'


def plan(code: str) -> str:
    edit = {"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": code}
    return json.dumps({"summary": "Flatten classify", "rationale": "r", "edits": [edit]})


class Model:
    """A scripted model: plans for propose calls, verdicts for review calls, in order."""

    def __init__(self, plans: list[str], verdicts: list[str]) -> None:
        self.plans, self.verdicts = plans, verdicts
        self.calls: list[LLMRequest] = []

    def __call__(self, call: LLMRequest) -> LLMReply:
        self.calls.append(call)
        if call.schema is REVIEW_SCHEMA:
            return LLMReply(text=self.verdicts.pop(0), tokens_in=50, tokens_out=12)
        return LLMReply(text=self.plans.pop(0), tokens_in=400, tokens_out=60)


def verdict(kind: str, reason: str) -> str:
    return json.dumps({"verdict": kind, "reason": reason})


GOAL = {
    "id": "simplify",
    "description": "Flatten the nested branches of classify in calc/ops.py.",
    "scope": ["calc/**/*.py"],
    "max_attempts": 2,
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("template") / "repo", goals=[GOAL])


def clone(template: Path, root: Path, goal_option: bool | str | None) -> Path:
    git(root.parent, "clone", "-q", str(template), str(root))
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "user@example.invalid")
    if goal_option is not None:
        goal = {**GOAL, "options": {"self_review": goal_option}}
        text = yaml.safe_dump({"version": 1, "goals": [goal]}, sort_keys=False)
        (root / "goals.yaml").write_text(text)
        git(root, "commit", "-qam", "goal option")
    return root


def run(
    template: Path,
    root: Path,
    model: Model,
    *,
    goal_option: bool | None,
    provider_option: bool = False,
):
    clone(template, root, goal_option)
    repo, config = Repository.open(root), load_config(root)
    settings = LLMSettings(cache=False, self_review=provider_option)
    provider = LLMProvider(CallableTransport(model), settings)
    journal, steps = MemoryJournal(), StepLog()
    cycle = Cycle(
        repo,
        config,
        FixedMeasurer(BASE, BETTER),
        make_provider=lambda goal: provider,
        clock=FixedClock(),
        on_step=steps,
        journal=journal,
        pending=MemoryPending(),
    )
    return cycle.run(CycleRequest()), steps


def test_an_off_goal_verdict_sends_the_change_back_and_counts_as_an_attempt(
    template: Path, tmp_path: Path
):
    model = Model(
        [plan(OFF_GOAL), plan(FLAT_CLASSIFY)],
        [verdict("off-goal", "it drops every case but zero"), verdict("ok", "same results")],
    )
    reports, steps = run(template, tmp_path / "repo", model, goal_option=True)
    first, second = reports
    assert first.outcome == "rejected" and "self-review" in first.message
    assert [(r.id, r.passed) for r in first.rules] == [("self-review", False)]
    assert "drops every case" in first.rules[0].detail
    assert first.candidate is None  # never measured: nothing ran
    assert second.outcome == "merged" and second.attempt == 2
    assert "self-review: ok: same results" in second.notes
    kinds = [c.kind for c in second.usage.per_call]
    assert kinds == ["propose", "review"] and second.usage.calls == 2
    assert [c.kind for c in first.usage.per_call] == ["propose", "review"]
    # The second attempt was told why: the review's reason is in its prompt's tail.
    propose_2 = [c for c in model.calls if c.schema is not REVIEW_SCHEMA][1]
    assert "drops every case" in propose_2.prompt
    # The review shares the proposal's stable prompt head (the server's prefix cache).
    review_1 = model.calls[1]
    head = model.calls[0].prompt.split("# Your answer", 1)[0].rstrip("\n")
    assert review_1.prompt.startswith(head) and "```diff" in review_1.prompt
    assert [s for _, s in steps.steps].count("self-review") == 2


def test_off_by_default_and_the_goal_option_overrides_the_provider(template: Path, tmp_path: Path):
    model = Model([plan(FLAT_CLASSIFY)], [])
    reports, steps = run(template, tmp_path / "a", model, goal_option=None)
    assert [r.outcome for r in reports] == ["merged"] and "self-review" not in str(steps.steps)
    model = Model([plan(FLAT_CLASSIFY)], [])
    reports, _ = run(template, tmp_path / "b", model, goal_option=False, provider_option=True)
    assert [r.outcome for r in reports] == ["merged"] and len(model.calls) == 1
    model = Model([plan(FLAT_CLASSIFY)], ["I think it is fine"])  # no verdict: fails open
    reports, _ = run(template, tmp_path / "c", model, goal_option=None, provider_option=True)
    assert [r.outcome for r in reports] == ["merged"]
    assert any("could not be read" in n for n in reports[0].notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"verdict": "ok", "reason": "fine"}', ("ok", "fine")),
        (
            '```json\n{"verdict": "changes_behavior", "reason": "x"}\n```',
            ("changes-behaviour", "x"),
        ),
        ("{'verdict': 'off-goal', 'reason': 'y',}", ("off-goal", "y")),
        ('{"verdict": "maybe"}', None),
        ("no json", None),
    ],
)
def test_read_review(text: str, expected: tuple[str, str] | None):
    assert read_review(text) == expected


# The context options shape the head: a rebuilt head must use them as the proposal did.
@pytest.mark.parametrize(
    "settings",
    [LLMSettings(cache=False), LLMSettings(cache=False, small_file_tokens=0, max_targets=0)],
    ids=["defaults", "context-options"],
)
def test_review_without_a_proposal_in_this_process_rebuilds_the_same_head(
    template: Path, tmp_path: Path, settings: LLMSettings
):
    root = clone(template, tmp_path / "repo", None)
    model = Model([plan(FLAT_CLASSIFY)], [verdict("ok", "fine")])
    config = load_config(root)
    request = ProposalRequest(
        goal=config.goals[0], root=root, files=("calc/ops.py",), directives=config.directives
    )
    proposer = LLMProvider(CallableTransport(model), settings)
    proposer.propose(request)
    fresh = LLMProvider(CallableTransport(model), settings)
    review = fresh.review(ReviewRequest(request=request, summary="s", diff="--- a\n+++ b\n"))
    assert review.passed and review.usage.per_call[0].kind == "review"
    head = model.calls[0].prompt.split("# Your answer", 1)[0].rstrip("\n")
    assert model.calls[1].prompt.startswith(head)


def test_the_self_review_options_are_validated(template: Path, tmp_path: Path):
    root = clone(template, tmp_path / "repo", "maybe")
    with pytest.raises(ConfigError, match="self_review"):
        load_config(root)


class Reviewer:
    """A provider that reviews with a fixed verdict, or is down."""

    needs_model = True

    def __init__(self, name: str, verdict: str | None) -> None:
        self.name, self.verdict = name, verdict

    def propose(self, request: ProposalRequest) -> Proposal:
        raise AssertionError("not asked")

    def review(self, ask: ReviewRequest) -> Review:
        if self.verdict is None:
            raise ProviderTransient(f"{self.name} is down")
        return Review(verdict=self.verdict, reason=self.name)


class NoReviewer(Reviewer):
    review = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("primary", "fallback", "expected"),
    [
        (Reviewer("a", "off-goal"), Reviewer("b", "ok"), ("off-goal", "a")),
        (Reviewer("a", None), Reviewer("b", "changes-behaviour"), ("changes-behaviour", "b")),
        (NoReviewer("a", None), Reviewer("b", "off-goal"), ("off-goal", "b")),
        (Reviewer("a", "ok"), NoReviewer("b", None), ("ok", "a")),
        (NoReviewer("a", None), NoReviewer("b", None), ("ok", "no provider here reviews")),
        (Reviewer("a", None), Reviewer("b", None), ProviderTransient),  # both down: raised
    ],
)
def test_a_fallback_pair_reviews_with_the_first_that_is_up(
    primary: Reviewer, fallback: Reviewer, expected: tuple[str, str] | type[Exception]
):
    pair = FallbackProvider(primary, fallback)
    ask = ReviewRequest(request=None, summary="s", diff="d")  # type: ignore[arg-type]
    if isinstance(expected, type):
        with pytest.raises(expected, match="b is down"):
            pair.review(ask)
        return
    review = pair.review(ask)
    assert (review.verdict, review.reason) == expected


def test_a_long_diff_is_cut_in_the_middle_for_the_review():
    diff = "+start\n" + "x" * 20_000 + "\n+end"
    ask = ReviewRequest(request=None, summary="s", diff=diff)  # type: ignore[arg-type]
    text = review_prompt(ask)
    assert "+start" in text and "+end" in text and len(text) < 10_000
    assert f"[... {len(diff) - MAX_DIFF_CHARS} characters cut ...]" in text
