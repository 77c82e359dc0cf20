"""Self-review: the model reads its own diff against the goal and the rules (short, cheap).

:func:`review_prompt` renders the question, appended to the proposal's *stable prompt
head* (goal, scope, repo map, target code) so a server's prefix cache answers most of it;
:func:`read_review` reads the verdict. The answer schema is closed (an enum of
:data:`~engine.providers.base.VERDICTS`), so constrained decoding can only produce a
verdict. An answer that cannot be read is not a rejection: the review fails open, and the
gate judges the change as it would without one.
"""

from __future__ import annotations

from typing import Any

from engine.providers.base import VERDICTS, ReviewRequest
from engine.providers.extract import extract_json, repair_json
from engine.providers.templates import cut_middle, load_prompt

MAX_DIFF_CHARS = 8000  # a longer diff is cut in the middle (a review must stay cheap)
MAX_OUTPUT_TOKENS = 200

REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": list(VERDICTS)},
        "reason": {"type": "string"},
    },
    "required": ["verdict", "reason"],
    "additionalProperties": False,
}


def review_prompt(ask: ReviewRequest) -> str:
    diff = cut_middle(ask.diff, MAX_DIFF_CHARS)
    rules = "\n".join(f"- {r}" for r in ask.rules) or "- (none beyond the above)"
    return load_prompt("review").substitute(
        rules=rules, summary=ask.summary.strip(), diff=diff.rstrip()
    )


def read_review(text: str) -> tuple[str, str] | None:
    """``(verdict, reason)`` from the model's answer; None when there is none to read."""
    data = extract_json(text) or repair_json(text)
    if not isinstance(data, dict):
        return None
    verdict = str(data.get("verdict", "")).strip().lower().replace("_", "-")
    verdict = {"changes-behavior": "changes-behaviour"}.get(verdict, verdict)
    if verdict not in VERDICTS:
        return None
    return verdict, str(data.get("reason") or "").strip()[:500]
