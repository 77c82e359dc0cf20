"""``ratchet check``: every answer in goals.yaml must answer a question ratchet asked.

An answer is ``answers: {N: "..."}`` on a goal; ``N`` must be the number of a question
ratchet asked about *that* goal (open, or answered by this very entry: an answer stays in
goals.yaml after the goal ran again). The questions are in the records
(:mod:`engine.cycle.questions`), which the configuration layer does not read: the caller
passes them in as ``asked`` (goal id -> question numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from engine.config.yamlpos import YamlDoc, render_path
from engine.errors import ConfigIssue


def unknown_answers(doc: YamlDoc, asked: Mapping[str, Set[int]]) -> list[ConfigIssue]:
    """An error at the key of each answer to a question not asked about its goal."""
    goals = doc.data.get("goals") if isinstance(doc.data, dict) else None
    issues: list[ConfigIssue] = []
    for i, goal in enumerate(goals if isinstance(goals, list) else []):
        if not isinstance(goal, dict) or not isinstance(goal.get("answers"), dict):
            continue
        gid = str(goal.get("id"))
        mine = sorted(asked.get(gid, set()))
        for key in goal["answers"]:
            number = int(key) if isinstance(key, str) and key.isdigit() else key
            if not isinstance(number, int) or number in mine:
                continue  # not a number: the schema already said so
            path = ("goals", i, "answers", key)
            pos = doc.key_pos(path)
            known = ", ".join(map(str, mine)) or "none"
            issues.append(
                ConfigIssue(
                    doc.file,
                    pos.line,
                    pos.col,
                    render_path(path),
                    f"ratchet asked no question {number} about goal '{gid}' "
                    f"(its questions: {known})",
                    "answer a question listed by `ratchet status` or in "
                    "memory-bank/questions.md, or remove this answer",
                )
            )
    return issues
