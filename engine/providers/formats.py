"""Structured-output negotiation for OpenAI-compatible servers, remembered per endpoint.

The ladder, strictest first (:data:`LEVELS`):

``json_schema``
    ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`` — OpenAI,
    vLLM, LM Studio, Ollama (>= 0.5), llama.cpp ``llama-server``.
``json_object_schema``
    ``{"type": "json_object", "schema": {...}}`` — llama-cpp-python's server turns the
    schema into a grammar (constrained decoding); vLLM and LM Studio accept it too.
``json_object``
    ``{"type": "json_object"}`` — any JSON, no schema.
``text``
    no ``response_format``; the answer is extracted tolerantly.

A server that refuses a level (HTTP 400/422, or a 5xx whose body names
``response_format`` — llama-cpp-python answers 500 to ``json_schema``) is asked again at
the next level at once. A refusal is *not* a transient failure: it is not retried by
tenacity and never trips the circuit breaker. The level that worked is remembered in
``<state_dir>/response-formats.json``, keyed by base URL and model, so later calls (and
later processes) start there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import ConfigError, ConfigIssue
from engine.providers.statefile import StateFile
from engine.records.layout import response_formats_file

LEVELS = ("json_schema", "json_object_schema", "json_object", "text")


MEMORY_FILE = response_formats_file(Path()).name  # defined by engine.records.layout


def response_format(level: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``level`` (None: leave it out)."""
    if level == "json_schema":
        spec = {"name": "edit_plan", "schema": schema, "strict": False}
        return {"type": "json_schema", "json_schema": spec}
    if level == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if level == "json_object":
        return {"type": "json_object"}
    return None


def is_format_refusal(status: int, body: str) -> bool:
    """Does this error answer say the server cannot do the requested response format?"""
    if status in (400, 422):
        return True
    lowered = body.lower()
    return status >= 500 and ("response_format" in lowered or "json_schema" in lowered)


def start_level(options: dict[str, Any]) -> str:
    """The first level to try: ``options.response_format``, or ``json_schema: false``.

    ``json_schema: false`` (the older switch) starts at ``json_object_schema``.
    """
    value = options.get("response_format")
    if value is None:
        return "json_schema" if options.get("json_schema", True) is not False else LEVELS[1]
    if value not in LEVELS:
        raise ConfigError(
            ConfigIssue(
                "directives.yaml",
                0,
                0,
                "provider.options.response_format",
                f"unknown response format {value!r}",
                f"use one of: {', '.join(LEVELS)}",
            )
        )
    return str(value)


class FormatMemory:
    """The level that worked per ``(base URL, model)``; a missing/corrupt file is empty."""

    def __init__(self, state_dir: Path | None) -> None:
        self._file = StateFile(response_formats_file(state_dir) if state_dir else None)

    def get(self, key: str) -> str | None:
        level = self._file.read().get(key)
        return level if level in LEVELS else None

    def put(self, key: str, level: str) -> None:
        data = self._file.read()
        if data.get(key) == level:
            return
        data[key] = level
        self._file.write(data)


def endpoint_key(base_url: str, model: str) -> str:
    return f"{base_url.rstrip('/')} {model}"
