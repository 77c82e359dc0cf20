"""The provider registry: ONE table, name -> factory, and the only place that wraps fallbacks.

A name in goals.yaml / directives.yaml is looked up in :data:`REGISTRY`; ``auto`` is not
an entry but resolves to one (:mod:`engine.providers.auto`). Model providers are imported
when built, not when this module is (their SDKs are heavy). Provider modules never import
this one, the fallback wrapper or ``auto``: the dependency points one way only
(``tests/test_provider_registry.py`` checks the import graph has no cycle).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError, ConfigIssue, ProviderUnavailable
from engine.model import Directives, Goal, ProviderConfig
from engine.providers.base import Provider
from engine.providers.fallback import FallbackProvider


@dataclass(frozen=True, kw_only=True)
class Build:
    """What a factory may read: the provider's config, the directives, the goal (None for a
    fallback, which serves any goal), the repository root and the environment."""

    config: ProviderConfig
    directives: Directives
    goal: Goal | None
    repo: Path | None
    env: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class Entry:
    """A registry row. ``model``: calls a model (may have, and may be, a fallback)."""

    factory: Callable[[Build], Provider]
    model: bool


def _ruff(build: Build) -> Provider:
    from engine.providers.ruff import RuffFixProvider

    return RuffFixProvider(timeout=build.directives.timeouts.provider)


def _scripted(build: Build) -> Provider:
    from engine.providers.scripted import ScriptedProvider

    goal_plans = build.goal.options.get("plans") if build.goal else None
    plans = build.config.options.get("plans") or goal_plans or []
    root = build.repo or Path.cwd()
    return ScriptedProvider.from_files([root / str(p) for p in plans])


def _model(name: str) -> Callable[[Build], Provider]:
    """A factory calling ``engine.providers.<name>.make_<name>(config, directives, env=)``."""

    def factory(build: Build) -> Provider:
        module = importlib.import_module(f"engine.providers.{name}")
        provider: Provider = getattr(module, f"make_{name}")(
            build.config, build.directives, env=build.env
        )
        return provider

    return factory


REGISTRY: Mapping[str, Entry] = {
    "ruff": Entry(factory=_ruff, model=False),
    "scripted": Entry(factory=_scripted, model=False),
    "gemini": Entry(factory=_model("gemini"), model=True),
    "openai_compat": Entry(factory=_model("openai_compat"), model=True),
    "local": Entry(factory=_model("local"), model=True),
}
PROVIDER_NAMES: tuple[str, ...] = ("auto", *REGISTRY)
MODEL_PROVIDERS: tuple[str, ...] = tuple(name for name, e in REGISTRY.items() if e.model)


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
    from engine.providers.auto import resolve_auto

    return resolve_auto(directives, os.environ if env is None else env)


def make_provider(
    goal: Goal, directives: Directives, *, repo: Path, env: Mapping[str, str] | None = None
) -> Provider:
    """Build the provider for ``goal``, wrapped with its fallback when it calls a model.

    Raises ConfigError for an unknown name (listing the valid ones), and ProviderUnavailable
    when the goal needs a model (``auto`` resolved to ruff but the goal has no ruff
    options) so the cycle can skip it with a clear message.
    """
    env = os.environ if env is None else env
    config = provider_config_for(goal, directives)
    name = resolve_name(config, directives, env)
    if name == "ruff" and config.name == "auto" and not ({"select", "format"} & set(goal.options)):
        raise ProviderUnavailable(
            f"goal {goal.id!r} needs a model provider and none is configured: set "
            "GEMINI_API_KEY or OPENAI_BASE_URL, or configure provider.name in directives.yaml"
            " (see docs/providers.md), or give the goal options.select/format for ruff"
        )
    entry = REGISTRY.get(name)
    if entry is None:
        raise _unknown("provider.name", f"unknown provider {name!r}", PROVIDER_NAMES)
    build = Build(config=config, directives=directives, goal=goal, repo=repo, env=env)
    provider = entry.factory(build)
    return _with_fallback(provider, config, directives, env) if entry.model else provider


def make_model_provider(
    config: ProviderConfig, directives: Directives, *, env: Mapping[str, str] | None = None
) -> Provider:
    """Build a model provider from ``config`` (``auto`` resolves first) with its fallback.

    Used for ``provider.fallback`` and by callers that hold a model provider's config;
    refuses a provider that does not call a model (ConfigError listing the valid ones).
    """
    env = os.environ if env is None else env
    name = resolve_name(config, directives, env)
    entry = REGISTRY.get(name)
    if entry is None or not entry.model:
        raise _unknown("provider.fallback.name", f"{name!r} cannot be a fallback", MODEL_PROVIDERS)
    build = Build(config=config, directives=directives, goal=None, repo=None, env=env)
    return _with_fallback(entry.factory(build), config, directives, env)


def _with_fallback(
    provider: Provider, config: ProviderConfig, directives: Directives, env: Mapping[str, str]
) -> Provider:
    """``provider`` wrapped with ``config.fallback`` when one is configured."""
    if config.fallback is None:
        return provider
    fallback = make_model_provider(config.fallback, directives, env=env)
    return FallbackProvider(provider, fallback)


def _unknown(field: str, problem: str, valid: tuple[str, ...]) -> ConfigError:
    return ConfigError(
        ConfigIssue("directives.yaml", 0, 0, field, problem, f"use one of: {', '.join(valid)}")
    )
