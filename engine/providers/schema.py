"""The JSON schema of the edit plan, as model providers ask for it.

With ``closed=True`` the ``file`` field is an enum of the in-scope files, ``symbol`` /
``after`` are enums of the known qualified names (``after`` may be ``""``: end of file),
and each edit is one of per-op object shapes with exactly the fields that op needs, so a
grammar-constrained model *cannot* name a file or symbol that does not exist — the
mistake small models make most (copying a path from the example) — nor mix up fields.
``create`` is not offered closed: a new path cannot be an enum, and a free ``file`` is
where a small model copies the example's path (Gemma 270M did at once). ``ops`` (the edit
format's, :mod:`.editformat`) limits the ops offered. Each op is a one-value ``enum``, not
``const``: every constrained decoder here (llama.cpp grammars, OpenAI, vLLM, Gemini's JSON
schema) accepts ``enum``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.model import EDIT_FORMATS, EDIT_OPS

# Enums longer than this make grammars slow to build and prompts large; past it the
# field stays a free string and validation catches bad names.
MAX_ENUM = 400


def plan_schema(
    files: Sequence[str] = (),
    symbols: Sequence[str] = (),
    *,
    closed: bool = False,
    max_edits: int | None = None,
    ops: Sequence[str] = EDIT_FORMATS["all"],
) -> dict[str, Any]:
    """The edit-plan JSON schema (see ARCHITECTURE.md), optionally closed over names."""
    file_field: dict[str, Any] = {"type": "string"}
    symbol_field: dict[str, Any] = {"type": "string"}
    if closed and files and len(files) <= MAX_ENUM:
        file_field = {"type": "string", "enum": sorted(set(files))}
    if closed and symbols and len(symbols) < MAX_ENUM:
        symbol_field = {"type": "string", "enum": ["", *sorted(set(symbols))]}
    edits: dict[str, Any] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "file": file_field,
                "op": {"type": "string", "enum": [op for op in EDIT_OPS if op in ops]},
                "symbol": symbol_field,
                "after": dict(symbol_field),
                "code": {"type": "string"},
                "search": {"type": "string"},
                "replace": {"type": "string"},
            },
            "required": ["file", "op"],
        },
    }
    if closed:
        edits["items"] = {"anyOf": _variants(file_field, symbol_field, ops)}
    if max_edits is not None:
        edits["maxItems"] = max_edits
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "rationale": {"type": "string"},
            "edits": edits,
            # the goal is too ambiguous to act on: ask (edits empty) instead of guessing
            "question": {"type": "string"},
        },
        "required": ["summary", "edits"],
    }


# Ops a closed schema offers, with exactly the fields each needs (see planfile.OP_FIELDS).
# ``rewrite`` is left out: whole-file rewrites are for formatters, not models.
_CLOSED_OPS: dict[str, tuple[str, ...]] = {
    "replace": ("symbol", "code"),
    "insert": ("after", "code"),
    "delete": ("symbol",),
    "add_import": ("code",),
    "search_replace": ("search", "replace"),
    "patch": ("code",),
}


def _variants(
    file_field: dict[str, Any], symbol_field: dict[str, Any], ops: Sequence[str]
) -> list[dict[str, Any]]:
    """One object schema per op, so a grammar can only produce a well-shaped edit."""
    named = {"type": "string", "enum": [s for s in symbol_field.get("enum", ()) if s]}
    if not named["enum"]:
        named = {"type": "string"}
    fields: dict[str, dict[str, Any]] = {
        "symbol": named,
        "after": symbol_field,  # "" = at the end of the file
        "code": {"type": "string"},
        "search": {"type": "string"},
        "replace": {"type": "string"},
    }
    return [
        {
            "type": "object",
            "properties": {
                "file": file_field,
                "op": {"type": "string", "enum": [op]},
                **{name: fields[name] for name in needs},
            },
            "required": ["file", "op", *needs],
            "additionalProperties": False,
        }
        for op, needs in _CLOSED_OPS.items()
        if op in ops
    ]
