"""Finding the JSON object in a model's text: strictly, leniently, or saying exactly where it broke.

Three functions, all pure and never raising, each reading the text without a reasoning
model's thoughts (:func:`without_reasoning`: ``<think>`` blocks, which may hold drafts of
the plan):

- :func:`extract_json` — the first JSON object in the text (the whole text, a fenced
  block, or a scan from each ``{``), read with ``json`` in non-strict mode, which
  accepts raw newlines and tabs inside strings: the most common small-model failure
  (code pasted into a JSON string without escaping it).
- :func:`repair_json` — a lenient reading through ``json-repair`` (trailing commas, single
  quotes, Python literals, unescaped quotes, a truncated tail). Chosen on evidence: on ten
  typical broken answers it recovered a dict from all ten, the code exactly in seven,
  against one for non-strict ``json`` alone (docs/providers.md). It can also invent
  structure from garbage, so callers accept its result only if it validates as a plan.
- :func:`parse_error` — the strict parser's complaint with line, column and the text
  around the position, quoted to the model in the repair round.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)
_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_REASONING_END = re.compile(r"</(think|thinking|reasoning)>", re.IGNORECASE)


def without_reasoning(text: str) -> str:
    """``text`` without a reasoning model's thoughts: ``<think>…</think>`` blocks (Qwen3,
    DeepSeek-R1 and others write them into the content, drafts of the plan included), and
    everything before a closing tag whose opening the chat template put in the prompt."""
    text = _REASONING.sub("", text)
    ends = list(_REASONING_END.finditer(text))
    return text[ends[-1].end() :] if ends else text


def _candidates(text: str) -> list[str]:
    """The texts worth parsing, most likely first: fenced blocks, then the whole text."""
    return [*(m.group(1) for m in _FENCE.finditer(text)), text.strip()]


def extract_json(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (its reasoning left out): a fenced block, the
    whole text, or a scan."""
    text = without_reasoning(text)
    for candidate in _candidates(text):
        try:
            value = json.loads(candidate, strict=False)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder(strict=False)
    for match in re.finditer(r"\{", text):
        try:
            value, _end = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def repair_json(text: str) -> dict[str, Any] | None:
    """A lenient reading of the first object-like text (see module docstring), or None."""
    import json_repair

    for candidate in _candidates(without_reasoning(text)):
        start = candidate.find("{")
        if start < 0:
            continue
        try:
            value = json_repair.loads(candidate[start:])
        except (ValueError, RecursionError, TypeError):
            continue
        if isinstance(value, dict) and value:
            return value
    return None


def parse_error(text: str) -> str:
    """Why the most likely JSON in ``text`` does not parse, with its position."""
    candidate = _candidates(without_reasoning(text))[0]
    start = candidate.find("{")
    if start < 0:
        return "there is no '{' in it"
    body = candidate[start:]
    try:
        json.loads(body)
    except json.JSONDecodeError as error:
        near = body[max(0, error.pos - 40) : error.pos + 40]
        return (
            f"{error.msg} at line {error.lineno}, column {error.colno} (char {error.pos}), "
            f"near {near!r}"
        )
    return "it parses, but is not a JSON object"
