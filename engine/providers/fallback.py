"""Fallback: when the primary model provider is down, ask the configured fallback.

"Down" means the primary raised :class:`~engine.errors.ProviderTransient` (retries
exhausted), :class:`~engine.providers.breaker.CircuitOpen`, or
:class:`~engine.errors.ProviderUnavailable` (no key, SDK or model). A malformed answer, a
4xx configuration error or a reached budget is *not* "down": those propagate, because a
second model would not fix them (and budgets are shared). The fallback is a
``ProviderConfig`` (``directives.provider.fallback``) naming a model provider.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping

from engine.errors import ConfigError, ConfigIssue, ProviderTransient, ProviderUnavailable
from engine.model import Directives, Proposal, ProviderConfig
from engine.providers.base import ProposalRequest, Provider
from engine.providers.breaker import CircuitOpen

log = logging.getLogger("engine.providers")
MODEL_PROVIDERS = ("gemini", "openai_compat", "local")
DOWN = (ProviderTransient, CircuitOpen, ProviderUnavailable)


class FallbackProvider:
    """Tries ``primary``; on a "down" error, ``fallback`` (whose name the Proposal carries)."""

    needs_model = True

    def __init__(self, primary: Provider, fallback: Provider) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def propose(self, request: ProposalRequest) -> Proposal:
        try:
            return self.primary.propose(request)
        except DOWN as error:
            log.warning(
                "%s is down (%s); asking fallback %s", self.primary.name, error, self.fallback.name
            )
            try:
                return self.fallback.propose(request)
            except Exception as second:
                second.add_note(f"primary provider {self.primary.name} was down: {error}")
                raise


def make_model_provider(
    config: ProviderConfig, directives: Directives, env: Mapping[str, str]
) -> Provider:
    """Build a model provider (``auto`` resolves first) with its own fallback chain."""
    name = config.name
    if name == "auto":
        from engine.providers.auto import resolve_auto

        name = resolve_auto(directives, env)
    if name not in MODEL_PROVIDERS:
        raise ConfigError(
            ConfigIssue(
                "directives.yaml",
                0,
                0,
                "provider.fallback.name",
                f"{name!r} cannot be a fallback",
                f"use one of: {', '.join(MODEL_PROVIDERS)}",
            )
        )
    module = importlib.import_module(f"engine.providers.{name}")
    provider: Provider = getattr(module, f"make_{name}")(config, directives, env=env)
    return provider


def with_fallback(
    provider: Provider, config: ProviderConfig, directives: Directives, env: Mapping[str, str]
) -> Provider:
    """``provider`` wrapped with ``config.fallback`` when one is configured."""
    if config.fallback is None:
        return provider
    return FallbackProvider(provider, make_model_provider(config.fallback, directives, env))
