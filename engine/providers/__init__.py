"""Provider registry: a name in goals.yaml / directives.yaml -> a Provider.

Valid names: ``auto``, ``ruff``, ``scripted``, ``gemini``, ``openai_compat``, ``local``.
Model providers are imported lazily (their SDKs are heavy).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path

from engine.errors import ConfigError, ConfigIssue, ProviderUnavailable
from engine.model import Directives, Goal, ProviderConfig
from engine.providers.base import ProposalRequest, Provider

__all__ = ["PROVIDER_NAMES", "Provider", "ProposalRequest", "make_provider", "provider_config_for"]

PROVIDER_NAMES = ("auto", "ruff", "scripted", "gemini", "openai_compat", "local")
MODEL_PROVIDERS = ("gemini", "openai_compat", "local")


def provider_config_for(goal: Goal, directives: Directives) -> ProviderConfig:
    """The goal's own provider name wins over directives.provider.name."""
    base = directives.provider
    if goal.provider and goal.provider != base.name:
        return ProviderConfig(name=goal.provider, fallback=base.fallback)
    return base


def resolve_name(
    config: ProviderConfig, directives: Directives, env: Mapping[str, str] | None = None
) -> str:
    """``auto`` -> a configured model provider if there is one, else ``ruff``."""
    if config.name != "auto":
        return config.name
    auto = importlib.import_module("engine.providers.auto")
    return str(auto.resolve_auto(directives, os.environ if env is None else env))


def make_provider(
    goal: Goal, directives: Directives, *, repo: Path, env: Mapping[str, str] | None = None
) -> Provider:
    """Build the provider for ``goal``. Unknown names list the valid ones.

    Raises ProviderUnavailable when the goal needs a model (``auto`` resolved to ruff but
    the goal has no ruff options) so the cycle can skip it with a clear message.
    """
    config = provider_config_for(goal, directives)
    name = resolve_name(config, directives, env)
    if name == "ruff":
        if config.name == "auto" and not ({"select", "format"} & set(goal.options)):
            raise ProviderUnavailable(
                f"goal {goal.id!r} needs a model provider and none is configured: set "
                "GEMINI_API_KEY or OPENAI_BASE_URL, or configure provider.name in directives.yaml"
                " (see docs/providers.md), or give the goal options.select/format for ruff"
            )
        from engine.providers.ruff import RuffFixProvider

        return RuffFixProvider(timeout=directives.timeouts.provider)
    if name == "scripted":
        from engine.providers.scripted import ScriptedProvider

        plans = config.options.get("plans") or goal.options.get("plans") or []
        return ScriptedProvider.from_files([repo / str(p) for p in plans])
    if name in MODEL_PROVIDERS:
        module = importlib.import_module(f"engine.providers.{name}")
        provider: Provider = getattr(module, f"make_{name}")(config, directives)
        return provider
    raise ConfigError(
        ConfigIssue(
            "directives.yaml",
            0,
            0,
            "provider.name",
            f"unknown provider {name!r}",
            f"use one of: {', '.join(PROVIDER_NAMES)}",
        )
    )
