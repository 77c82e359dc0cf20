"""What each provider reads from ``options``, with the type and range of every value.

Providers read options with ``float(...)``/``int(...)`` at call time; a value they cannot
convert (``timeout: abc``), one that makes no sense (``timeout: -1``, ``.nan``) or one no
provider reads (``selct``) used to surface as a crash or as silence at run time. Here they
are configuration errors with positions:

- a known option with a wrong type or range is an error;
- an unknown option close to a known one (``selct`` ~ ``select``) is an error with a
  did-you-mean;
- any other unknown option is a warning (listed by ``ratchet check``; ``--strict`` refuses
  it), so an option added to a provider before this table is not a hard failure.

Keep these tables in step with the providers (``engine/providers/llm.py``, ``retry.py``,
``breaker.py``, ``budget.py``, each provider's ``from_config``) and docs/providers.md.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from engine.config.schema import (
    Check,
    Cursor,
    boolean,
    integer,
    list_of,
    number,
    one_of,
    optional,
    run,
    string,
)
from engine.model import EDIT_FORMATS

_DAY = 86_400.0
_URL = r"https?://[^\s]+"
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

# Read by every model provider (gemini, openai_compat, local) through LLMSettings.
MODEL_OPTIONS: Mapping[str, Check] = {
    "temperature": number(minimum=0, maximum=2),
    "max_output_tokens": integer(minimum=1, maximum=1_000_000),
    "timeout": number(positive=True, maximum=_DAY),
    "retries": integer(minimum=1, maximum=20),
    "backoff_base": number(minimum=0, maximum=3600),
    "backoff_max": number(minimum=0, maximum=3600),
    "retry_after_max": number(minimum=0, maximum=_DAY),
    "breaker_threshold": integer(minimum=1, maximum=1000),
    "breaker_cooldown": number(minimum=0, maximum=_DAY),
    "cache": boolean(),
    "closed_schema": boolean(),
    "edit_format": one_of("auto", *EDIT_FORMATS),
    "price_in_per_mtok": number(minimum=0, maximum=10_000),
    "price_out_per_mtok": number(minimum=0, maximum=10_000),
    "context_tokens": integer(minimum=1, maximum=2_000_000),
    "small_file_tokens": integer(minimum=0, maximum=1_000_000),
    "max_targets": integer(minimum=0, maximum=1000),
    "max_edits": optional(integer(minimum=1, maximum=1000)),
    "self_review": boolean(),
    "api_key": string(),  # must be ``${VAR}``: checks.no_literal_secrets says so
    "api_key_env": string(pattern=_ENV_NAME, what="variable name", hint="e.g. MY_API_KEY"),
    "base_url": string(pattern=_URL, what="URL", hint="e.g. http://127.0.0.1:8080/v1"),
}

_LOCAL: Mapping[str, Check] = {
    "model_path": string(),
    "n_ctx": integer(minimum=256, maximum=10_000_000),
    "n_threads": integer(minimum=1, maximum=1024),
    "seed": integer(),
}

# openai_compat's response-format negotiation: the ladder of engine/providers/formats.py
# (LEVELS), repeated here because the gate's config must not import the providers
# (tests/test_provider_faults.py checks the two agree).
RESPONSE_FORMATS = ("json_schema", "json_object_schema", "json_object", "text")
_OPENAI: Mapping[str, Check] = {
    "json_schema": boolean(),
    "response_format": one_of(*RESPONSE_FORMATS),
    "stream": boolean(),
}

PROVIDER_OPTIONS: Mapping[str, Mapping[str, Check]] = {
    "gemini": {**MODEL_OPTIONS, "api_version": string()},
    "openai_compat": {**MODEL_OPTIONS, **_OPENAI},
    "local": {**MODEL_OPTIONS, **_LOCAL},
    "auto": {**MODEL_OPTIONS, "api_version": string(), **_OPENAI, **_LOCAL},
    "ruff": {},  # the ruff provider reads the goal's options (below)
    "scripted": {"plans": list_of(string())},
}

# goal.options: read by the goal's provider whichever it is (goals.yaml is checked
# without directives.yaml, so every goal-level option is accepted on every goal).
GOAL_OPTIONS: Mapping[str, Check] = {
    "select": list_of(string(), single=True),  # ruff rule codes (validated by `check`)
    "format": boolean(),
    "max_files": integer(minimum=1, maximum=10_000),
    "plans": list_of(string()),
    "symbols": list_of(string()),
    "diff_coverage": one_of("review", "reject"),  # rule diff-coverage-strict (rules/)
    "self_review": boolean(),  # the model reviews its diff before evaluation
    # the prompt's learned memory (engine.records.switches; 0 turns each off)
    "similar_failures": integer(minimum=0, maximum=20),  # k past failures in the prompt
    "lessons_every": integer(minimum=0, maximum=1000),  # distil lessons every N attempts
    "earlier_rejections": integer(minimum=0, maximum=20),  # the goal's newest N rejections
    "decompose": boolean(),  # plan a broad goal as ranked sub-tasks (engine.cycle.plans)
    "plan_size": integer(minimum=1, maximum=1000),  # sub-tasks kept in the plan
}

_TYPO_CUTOFF = 0.8


def check_options(raw: Any, cursor: Cursor, known: Mapping[str, Check], who: str) -> None:
    """Report every problem of the ``options`` mapping ``raw`` at ``cursor`` (see module doc).

    ``who`` names the reader in messages ("the gemini provider", "goal options").
    """
    if not isinstance(raw, dict):
        return  # the mapping check has said so
    for key, value in raw.items():
        where = cursor.child(key)
        spec = known.get(key)
        if spec is not None:
            run(spec, value, where)
            continue
        close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=_TYPO_CUTOFF)
        if close:
            where.report(
                f"unknown option '{key}' for {who}", f"did you mean '{close[0]}'?", at_key=True
            )
        else:
            reads = ", ".join(sorted(known)) or "none"
            where.warn(
                f"unknown option '{key}': {who} does not read it",
                f"options it reads: {reads}",
                at_key=True,
            )
