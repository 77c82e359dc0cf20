"""The settings of the model pipeline, read from ``provider.options`` and checked at use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.model import EDIT_FORMATS
from engine.providers.breaker import BreakerPolicy
from engine.providers.budget import Price
from engine.providers.options import choice, flag, number
from engine.providers.retry import RetryPolicy


@dataclass(frozen=True, kw_only=True)
class LLMSettings:
    """Provider options that shape calls (all read from ``provider.options``)."""

    temperature: float = 0.2
    max_output_tokens: int = 2048
    timeout: float | None = None  # None: directives.timeouts.provider
    cache: bool = True
    closed_schema: bool = False  # enums of files/symbols in the schema
    edit_format: str = "all"  # the ops asked for (engine.providers.editformat)
    max_edits: int | None = None
    context_tokens: int | None = None  # None: directives.context_tokens
    small_file_tokens: int = 400
    max_targets: int = 6
    self_review: bool = False  # review the diff before evaluation (goal option overrides)
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    price: Price = Price()

    @classmethod
    def from_options(
        cls,
        options: Mapping[str, Any],
        model: str,
        *,
        closed_schema: bool = False,
        edit_format: str = "all",
    ) -> LLMSettings:
        """Each option is checked at use (:mod:`.options`): a bad value is a ConfigError.

        ``edit_format``: the provider class's format, used when the option is ``auto``."""
        chosen = choice(options, "edit_format", "auto", ("auto", *EDIT_FORMATS))
        return cls(
            temperature=number(
                options, "temperature", cls.temperature, kind=float, minimum=0, maximum=2
            ),
            max_output_tokens=number(
                options,
                "max_output_tokens",
                cls.max_output_tokens,
                kind=int,
                minimum=1,
                maximum=1_000_000,
            ),
            timeout=_timeout(options),
            cache=flag(options, "cache", True),
            closed_schema=flag(options, "closed_schema", closed_schema),
            edit_format=edit_format if chosen == "auto" else chosen,
            max_edits=_optional_count(options, "max_edits", 1000),
            context_tokens=_optional_count(options, "context_tokens", 2_000_000),
            small_file_tokens=number(
                options,
                "small_file_tokens",
                cls.small_file_tokens,
                kind=int,
                minimum=0,
                maximum=1_000_000,
            ),
            max_targets=number(
                options, "max_targets", cls.max_targets, kind=int, minimum=0, maximum=1000
            ),
            self_review=flag(options, "self_review", False),
            retry=RetryPolicy.from_options(options),
            breaker=BreakerPolicy.from_options(options),
            price=Price.for_model(model, options),
        )


def _timeout(options: Mapping[str, Any]) -> float | None:
    if options.get("timeout") is None:
        return None
    return number(options, "timeout", 0.0, kind=float, positive=True, maximum=86400)


def _optional_count(options: Mapping[str, Any], key: str, maximum: int) -> int | None:
    if options.get(key) is None:
        return None
    return number(options, key, 1, kind=int, minimum=1, maximum=maximum)
