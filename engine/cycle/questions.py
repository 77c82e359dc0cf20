"""Clarifying questions: what ratchet asked the humans, which are answered, and the
``memory-bank/questions.md`` page that lists them.

A goal that cannot be acted on — the model answered with a ``question`` instead of an
edit plan, or the goal's scope holds no file ratchet may change — is not guessed at: the
attempt ends with outcome ``question``, its record carries the question's number
(``question``) and text (``message``), and the goal waits. The human answers in
goals.yaml (``answers: {N: "..."}`` on that goal; ratchet never writes the file); the
next cycle sees the answer, the goal runs again and its prompt carries the answers.

Numbers are global, 1, 2, 3, … in the order the questions were asked (over every goal),
read from the records. Pure functions over journal entries and goals; no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.model import Goal
from engine.model.journal import JournalEntry


@dataclass(frozen=True, kw_only=True)
class Question:
    number: int
    goal: str
    text: str
    asked: str  # when (the attempt's start, UTC ISO)
    record: str = ""  # the commit that recorded it (under refs/ratchet/questions/)


def asked(history: Iterable[JournalEntry]) -> list[Question]:
    """Every question in the records, by number (a number recorded twice counts once)."""
    found: dict[int, Question] = {}
    for entry in history:
        number = entry.data.get("question")
        if entry.outcome != "question" or not isinstance(number, int) or not entry.goal:
            continue
        text = entry.message.split(": ", 1)[1] if ": " in entry.message else entry.message
        found.setdefault(
            number,
            Question(
                number=number,
                goal=entry.goal,
                text=text,
                asked=entry.started,
                record=entry.commit or "",
            ),
        )
    return [found[n] for n in sorted(found)]


def asked_by_goal(history: Iterable[JournalEntry]) -> dict[str, set[int]]:
    """Goal id -> the numbers of the questions asked about it (``ratchet check``)."""
    out: dict[str, set[int]] = {}
    for q in asked(history):
        out.setdefault(q.goal, set()).add(q.number)
    return out


def next_number(questions: Sequence[Question]) -> int:
    return max((q.number for q in questions), default=0) + 1


def open_questions(goal: Goal, questions: Iterable[Question]) -> list[Question]:
    """The questions asked about ``goal`` that its ``answers`` do not answer yet."""
    return [q for q in questions if q.goal == goal.id and q.number not in goal.answers]


def answer_lines(goal: Goal, questions: Iterable[Question]) -> tuple[str, ...]:
    """The prompt's lines for ``goal``'s answers: ``question 2: <q> — answer: <a>`` (an
    answer to a question not in the records still counts, without its question)."""
    texts = {q.number: q.text for q in questions if q.goal == goal.id}
    return tuple(
        f"question {n}: {texts[n]} — answer: {a}" if n in texts else f"answer {n}: {a}"
        for n, a in sorted(goal.answers.items())
    )


def render_questions(questions: Sequence[Question], goals: Sequence[Goal]) -> str:
    """``memory-bank/questions.md``: every question, open ones first, with its answer."""
    answers = {g.id: g.answers for g in goals}
    lines = [
        "# Questions from ratchet",
        "",
        "ratchet asks when a goal cannot be acted on. Answer in goals.yaml, on the goal:",
        '`answers: {N: "your answer"}` (ratchet never writes goals.yaml); the goal then',
        "runs again with the answer in its prompt.",
        "",
    ]
    pending = [q for q in questions if q.number not in answers.get(q.goal, {})]
    done = [q for q in questions if q.number in answers.get(q.goal, {})]
    for title, group in (("Open", pending), ("Answered", done)):
        lines += [f"## {title}", ""]
        if not group:
            lines += ["(none)", ""]
        for q in group:
            lines.append(f"{q.number}. **{q.goal}** ({q.asked[:19]}): {q.text}")
            answer = answers.get(q.goal, {}).get(q.number)
            if answer:
                lines.append(f"   - answer: {answer}")
        if group:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def scope_question(goal: Goal) -> str:
    """The question for a goal whose scope holds no file ratchet may change."""
    scope = ", ".join(goal.scope) or "(all tracked *.py)"
    return (
        f"the scope of goal '{goal.id}' ({scope}) holds no file ratchet may change: "
        "which files should it work on? (answer, or fix `scope:` in goals.yaml)"
    )
