"""goals.yaml: WHAT to improve. ``version: 1`` and a list of goals (see the template).

:func:`check_goals` turns a parsed file into Goal values plus every problem found:
schema errors, invalid expressions, duplicate ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.config.checks import allow_entry, expression, provider_options, slug
from engine.config.options import GOAL_OPTIONS, check_options
from engine.config.schema import (
    INVALID,
    Cursor,
    Field,
    Invalid,
    Schema,
    check_document,
    describe,
    integer,
    list_of,
    nested,
    one_of,
    optional,
    string,
    version_field,
)
from engine.config.yamlpos import YamlDoc
from engine.errors import ConfigIssue
from engine.model import Goal

PROVIDER_NAMES: tuple[str, ...] = ("auto", "ruff", "scripted", "gemini", "openai_compat", "local")
GOAL_STATUSES: tuple[str, ...] = ("active", "paused", "done")
# goal.metric is measured on one tree at a time (``policy.tip_context``): ``candidate`` is
# that tree's metrics, so baseline/delta/change/cost/roi would mean nothing there.
METRIC_ROOTS: tuple[str, ...] = ("candidate", "goal")


def answers(value: Any, cursor: Cursor) -> dict[int, str]:
    """``{question number: answer}``: positive integer keys, non-empty text values.
    Whether each number is a question ratchet asked is ``ratchet check``'s to say
    (:mod:`engine.config.answers`: it needs the records)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(
            f"expected a mapping of question numbers to answers, got {describe(value)}",
            'write e.g. answers: {1: "only the parser module"}',
        )
    out: dict[int, str] = {}
    for key, text in value.items():
        at = cursor.child(key)
        number = int(key) if isinstance(key, str) and key.isdigit() else key
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            at.report(
                f"'{key}' is not a question number",
                "use the number from memory-bank/questions.md or `ratchet status`",
                at_key=True,
            )
        elif not isinstance(text, str) or not text.strip():
            at.report("the answer must be non-empty text", "write the answer as a string")
        else:
            out[number] = text.strip()
    return out


def scope_pattern(value: Any, cursor: Cursor) -> str:
    """A repo-relative glob: no absolute paths, no ``..``."""
    text = string()(value, cursor)
    if text.startswith("/") or ".." in text.split("/"):
        raise Invalid(f"scope pattern '{text}' leaves the repository", "use a repo-relative glob")
    return text


GOAL = Schema(
    target=Goal,
    fields={
        "id": Field(slug(), required=True, example="id: lint-clean"),
        "description": Field(string(), required=True, example="description: ..."),
        "priority": Field(integer(minimum=-1_000_000, maximum=1_000_000)),
        "scope": Field(list_of(scope_pattern)),
        "provider": Field(optional(one_of(*PROVIDER_NAMES))),
        "options": Field(provider_options),
        "max_attempts": Field(integer(minimum=1, maximum=20)),
        "status": Field(one_of(*GOAL_STATUSES)),
        "done_when": Field(optional(expression())),
        "allow": Field(list_of(allow_entry())),
        "metric": Field(optional(expression(METRIC_ROOTS, kind="number"))),
        "behaviour": Field(optional(one_of("preserve", "off"))),
        "answers": Field(answers),
    },
    post=lambda raw, given, cursor: check_options(
        raw.get("options"), cursor.child("options"), GOAL_OPTIONS, "goal options"
    ),
)


def _unique_ids(raw: Mapping[str, Any], given: Mapping[str, Any], cursor: Cursor) -> None:
    goals = raw.get("goals")
    first: dict[str, int] = {}
    for i, goal in enumerate(goals if isinstance(goals, list) else []):
        gid = goal.get("id") if isinstance(goal, dict) else None
        if not isinstance(gid, str):
            continue
        if gid in first:
            line = cursor.doc.value_pos(("goals", first[gid], "id")).line
            cursor.child("goals").child(i).child("id").report(
                f"duplicate goal id '{gid}' (first at line {line})", "give each goal its own id"
            )
        else:
            first[gid] = i
    if (isinstance(goals, list) and not goals) or ("goals" in raw and goals is None):
        cursor.child("goals").warn("no goals: a cycle has nothing to work on", "add a goal")


GOALS_FILE = Schema(
    fields={
        "version": version_field(),
        "goals": Field(list_of(nested(GOAL)), required=True, example="goals: []"),
    },
    post=_unique_ids,
)


def check_goals(doc: YamlDoc) -> tuple[tuple[Goal, ...], list[ConfigIssue]]:
    """The goals of a parsed goals.yaml, and its issues (goals are () when any)."""
    value, issues = check_document(doc, GOALS_FILE, "'version: 1' and 'goals: [...]'")
    if value is INVALID:
        return (), issues
    return tuple(value["goals"]), issues
