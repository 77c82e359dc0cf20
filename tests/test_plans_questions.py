"""The pure parts of plans and questions: the question answer shape (model answers, plan
files, the schema), the context's answers and focus, the plan's order, the forecast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cycle.plans import SubTask, plan_state, rank
from engine.cycle.questions import answer_lines, asked, open_questions, render_questions
from engine.errors import ConfigError
from engine.model import Goal, Proposal
from engine.model.journal import JournalEntry
from engine.patching.planfile import load_plan
from engine.providers.answer import parse_answer
from engine.providers.base import ProposalRequest
from engine.providers.context import build_context
from engine.providers.schema import plan_schema
from engine.records.forecast import forecast

GOAL = Goal(id="g", description="Make it better.")


def _request(tmp_path: Path, **extra: object) -> ProposalRequest:
    (tmp_path / "m.py").write_text(
        "def a(x):\n    if x:\n        return 1\n    return 2\n\n\n"
        "def b(x):\n    if x:\n        if x > 1:\n            return 3\n    return 4\n",
        encoding="utf-8",
    )
    return ProposalRequest(goal=GOAL, root=tmp_path, files=("m.py",), **extra)  # type: ignore[arg-type]


def test_a_model_may_answer_with_a_question_instead_of_a_plan(tmp_path: Path) -> None:
    request = _request(tmp_path)
    asking = json.dumps({"summary": "Question", "question": "Which module?", "edits": []})
    result = parse_answer(asking, request, {}, source="model")
    assert isinstance(result, Proposal) and result.question == "Which module?"
    # A schema-filled empty question, or one next to real edits, is no question.
    edit = {"file": "m.py", "op": "delete", "symbol": "a"}
    both = json.dumps({"summary": "Drop a", "question": "?", "edits": [edit]})
    plan = parse_answer(both, request, {"m.py": ("a", "b")}, source="model")
    assert isinstance(plan, Proposal) and plan.question == "" and len(plan.edits) == 1
    empty = json.dumps({"summary": "Drop a", "question": "", "edits": [edit]})
    filled = parse_answer(empty, request, {"m.py": ("a",)}, source="m")
    assert isinstance(filled, Proposal) and filled.question == ""
    assert plan_schema()["properties"]["question"] == {"type": "string"}


def test_a_plan_file_asks_without_edits_and_refuses_a_question_with_edits(tmp_path: Path) -> None:
    ask = tmp_path / "ask.yaml"
    ask.write_text("summary: Question\nquestion: Which module?\n", encoding="utf-8")
    assert load_plan(ask).question == "Which module?" and load_plan(ask).edits == ()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "summary: Question\nquestion: Which?\nedits:\n  - {file: m.py, op: delete, symbol: a}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_plan(bad)
    assert f"{bad}:4:3: edits: a plan that asks a question edits nothing" in str(error.value)


def test_the_context_carries_the_answers_and_puts_the_sub_task_first(tmp_path: Path) -> None:
    answer = "question 1: Which function? — answer: only a"
    focused = _request(tmp_path, answers=(answer,), focus=("m.py:a",))
    context = build_context(focused, budget=4000, small_file_tokens=0)
    assert f"## Answers to your questions\n- {answer}" in context.render_volatile()
    assert context.targets[0] == "m.py:a"  # b is more complex, but a is the sub-task
    plain = build_context(_request(tmp_path), budget=4000, small_file_tokens=0)
    assert "Answers" not in plain.render() and plain.targets[0] == "m.py:b"


def _entry(n: int, outcome: str, **data: object) -> JournalEntry:
    return JournalEntry.from_json(
        {"cycle_id": f"c{n}", "goal": "g", "outcome": outcome, "started": f"2026-01-0{n}", **data}
    )


def test_the_plan_takes_the_worst_first_and_moves_failures_to_the_back() -> None:
    ranked = rank(
        [("f.py", "x", 9), ("f.py", "y", 5), ("g.py", "z", 4), ("g.py", "s", 1)],
        churn={"g.py": 3},
        coverage={"f.py": 100.0, "g.py": 50.0},
    )
    # x: 9*1*1 = 9, z: 4*4*1.5 = 24, y: 5; s (no branch) is not a sub-task
    assert [t.key for t in ranked] == ["g.py:z", "f.py:x", "f.py:y"]
    assert isinstance(ranked[0], SubTask) and ranked[0].score == 24
    history = [
        _entry(1, "merged", subtask="g.py:z"),
        _entry(2, "rejected", subtask="f.py:x"),
        _entry(3, "review", subtask="gone.py:old"),  # no longer ranks: done
    ]
    plan = plan_state("g", ranked, history)
    assert [(s.key, s.state) for s in plan.steps] == [
        ("g.py:z", "done"),
        ("gone.py:old", "done"),
        ("f.py:y", "next"),
        ("f.py:x", "failed"),
    ]
    assert plan.progress() == {"done": 2, "review": 0, "failed": 1, "left": 2, "next": "f.py:y"}
    twice = [
        *history,
        _entry(4, "rejected", subtask="f.py:y"),
        _entry(5, "error", subtask="f.py:y"),
    ]
    assert plan_state("g", ranked, twice).next.key == "f.py:x"  # type: ignore[union-attr]


def test_questions_are_numbered_open_until_answered_and_rendered() -> None:
    history = [
        _entry(1, "question", question=1, message="question 1: Which module?"),
        _entry(2, "merged"),
        JournalEntry.from_json(
            {
                "cycle_id": "c3",
                "goal": "h",
                "outcome": "question",
                "question": 2,
                "message": "question 2: What is fast?",
                "started": "2026-01-03",
            }
        ),
    ]
    questions = asked(history)
    assert [(q.number, q.goal, q.text) for q in questions] == [
        (1, "g", "Which module?"),
        (2, "h", "What is fast?"),
    ]
    answered = Goal(id="g", description="d", answers={1: "m.py"})
    assert [q.number for q in open_questions(GOAL, questions)] == [1]
    assert open_questions(answered, questions) == []
    assert answer_lines(answered, questions) == ("question 1: Which module? — answer: m.py",)
    page = render_questions(questions, [answered, Goal(id="h", description="d")])
    open_part, done_part = page.split("## Answered")
    assert "2. **h**" in open_part and "1. **g**" in done_part and "- answer: m.py" in done_part


def test_the_forecast_extrapolates_the_metric_per_cycle() -> None:
    goal = Goal(id="g", description="d", done_when="candidate.lint.violations == 0")
    history = [
        _entry(n, "merged", baseline={"commit": f"c{n}", "lint": {"violations": v}})
        for n, v in ((1, 12), (2, 9), (3, 6))
    ]
    seen = forecast(goal, history)
    assert seen is not None and (seen.cycles, seen.per_cycle, seen.current) == (2, -3.0, 6.0)
    assert seen.eta.startswith("2026-01-05")
    assert seen.sentence() == (
        "lint.violations 6 → 0: ~2 more cycle(s) at -3 per cycle, about 2026-01-05T00:00Z"
    )
    worse = [*history, _entry(4, "merged", baseline={"commit": "c4", "lint": {"violations": 20}})]
    assert "not at the current rate" in forecast(goal, worse).sentence()  # type: ignore[union-attr]
    assert forecast(Goal(id="g", description="d", done_when="roi > 1"), history) is None


@pytest.mark.parametrize(
    ("options", "provider", "count", "planned"),
    [
        ({"decompose": True}, "scripted", 1, True),
        ({"decompose": True}, "ruff", 1, True),  # asked for explicitly
        ({"decompose": True}, "scripted", 0, False),  # nothing to plan
        ({"decompose": False}, "gemini", 50, False),
        ({}, "gemini", 11, False),
        ({}, "gemini", 12, True),  # a broad scope is planned without asking
        ({}, "ruff", 50, False),
        ({"symbols": ["f"]}, "gemini", 50, False),
    ],
)
def test_which_goals_are_planned(
    options: dict[str, object], provider: str, count: int, planned: bool
) -> None:
    from engine.cycle.plans import wanted

    ranked = rank([("f.py", f"f{i}", 3) for i in range(count)], churn={}, coverage={}, size=100)
    goal = Goal(id="g", description="d", options=options)
    assert wanted(goal, ranked, provider) is planned
