"""The provider registry: one table, fallbacks wrapped in one place, no import cycle.

Every provider module imports on its own in a fresh interpreter; the static import graph
of ``engine.providers`` has no cycle; provider modules never import the registry, the
fallback wrapper or ``auto``; an unknown name lists the valid ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config.goals import PROVIDER_NAMES as CONFIG_PROVIDER_NAMES
from engine.errors import ConfigError, ProviderUnavailable
from engine.model import Directives, Goal, ProviderConfig
from engine.providers import PROVIDER_NAMES, REGISTRY, make_model_provider, make_provider
from engine.providers.fallback import FallbackProvider
from engine.providers.llm import LLMProvider
from engine.providers.ruff import RuffFixProvider
from engine.providers.scripted import ScriptedProvider
from tests.import_graph import ROOT, find_cycle, imports_of, modules_under
from tests.local_model_env import hide_local_model

PROVIDERS = modules_under("engine.providers")
WIRING = {"engine.providers", "engine.providers.registry"}


def test_each_provider_module_imports_in_a_fresh_interpreter() -> None:
    # One interpreter per module, started together (an import cycle shows up only when
    # the import starts at a particular module of the circle).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = {
        module: subprocess.Popen(
            [sys.executable, "-c", f"import {module}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for module in PROVIDERS
    }
    failures = {}
    for module, child in children.items():
        _, stderr = child.communicate(timeout=120)
        if child.returncode != 0:
            failures[module] = stderr.strip().splitlines()[-1:]
    assert failures == {}


def test_the_providers_import_graph_has_no_cycle() -> None:
    assert find_cycle(PROVIDERS) is None


def test_find_cycle_does_find_the_old_circle() -> None:
    # The helper itself can fail: the circle this package had, as a graph.
    graph = {"auto": {"gemini"}, "gemini": {"fallback"}, "fallback": {"auto"}}
    assert find_cycle(["auto", "gemini", "fallback"], graph=graph) == [
        "auto",
        "gemini",
        "fallback",
        "auto",
    ]


@pytest.mark.parametrize("module", sorted(set(PROVIDERS) - WIRING))
def test_provider_modules_never_import_the_wiring(module: str) -> None:
    assert imports_of(module) & WIRING == set()


@pytest.mark.parametrize("module", sorted(set(PROVIDERS) - WIRING - {"engine.providers.auto"}))
def test_only_the_registry_wraps_fallbacks_and_resolves_auto(module: str) -> None:
    assert imports_of(module) & {"engine.providers.fallback", "engine.providers.auto"} == set()


def test_the_config_schema_accepts_exactly_the_registry_names() -> None:
    assert tuple(CONFIG_PROVIDER_NAMES) == PROVIDER_NAMES
    assert ("auto", *REGISTRY) == PROVIDER_NAMES


def _directives(name: str, **provider: object) -> Directives:
    return Directives(provider=ProviderConfig(name=name, **provider))  # type: ignore[arg-type]


OPENAI_ENV = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}


@pytest.mark.parametrize(
    ("directives", "goal_options", "env", "kind"),
    [
        (_directives("ruff"), {}, {}, RuffFixProvider),
        (_directives("scripted"), {}, {}, ScriptedProvider),
        (_directives("openai_compat"), {}, OPENAI_ENV, LLMProvider),
        (_directives("auto"), {}, OPENAI_ENV, LLMProvider),
        # no key, no server, no local extra: the embedded fixer
        (_directives("auto"), {"select": ["F401"]}, {}, RuffFixProvider),
        (
            _directives("openai_compat", fallback=ProviderConfig(name="gemini")),
            {},
            OPENAI_ENV,
            FallbackProvider,
        ),
        # a provider that calls no model gets no fallback
        (_directives("ruff", fallback=ProviderConfig(name="gemini")), {}, {}, RuffFixProvider),
    ],
)
def test_make_provider_builds_the_table_entry(
    tmp_path: Path,
    directives: Directives,
    goal_options: dict[str, object],
    env: dict[str, str],
    kind: type,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hide_local_model(monkeypatch)
    goal = Goal(id="g", description="d", options=goal_options)
    provider = make_provider(goal, directives, repo=tmp_path, env=env)
    assert isinstance(provider, kind)


def test_a_fallback_provider_answers_with_the_fallback_name(tmp_path: Path) -> None:
    directives = _directives("openai_compat", fallback=ProviderConfig(name="gemini"))
    provider = make_provider(Goal(id="g", description="d"), directives, repo=tmp_path, env={})
    assert isinstance(provider, FallbackProvider)
    assert (provider.primary.name, provider.fallback.name) == ("openai_compat", "gemini")


def test_an_unknown_provider_name_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        make_provider(Goal(id="g", description="d"), _directives("gpt5"), repo=tmp_path, env={})
    assert str(err.value) == (
        "directives.yaml:0:0: provider.name: unknown provider 'gpt5'; "
        "use one of: auto, ruff, scripted, gemini, openai_compat, local"
    )


@pytest.mark.parametrize("name", ["ruff", "scripted", "nope"])
def test_a_fallback_must_call_a_model(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_model_provider(ProviderConfig(name=name), Directives(), env={})
    assert str(err.value) == (
        f"directives.yaml:0:0: provider.fallback.name: {name!r} cannot be a fallback; "
        "use one of: gemini, openai_compat, local"
    )


def test_auto_without_a_model_refuses_a_goal_that_needs_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.providers.auto import resolve_auto

    goal = Goal(id="g", description="d")
    hide_local_model(monkeypatch)
    assert resolve_auto(Directives(), {}) == "ruff"
    with pytest.raises(ProviderUnavailable, match="needs a model provider"):
        make_provider(goal, _directives("auto"), repo=tmp_path, env={})
