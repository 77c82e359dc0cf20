"""``ratchet check``: the loaders' checks plus those that need the machine, not just files.

:func:`check_repository` loads the configuration (every error and warning of the loaders)
and, when it loads, adds:

- errors: ruff rule codes in ``goal.options.select`` that ruff does not know (``UPP``
  would silently fix nothing), validated against ``ruff rule --all`` of the installed
  ruff (cached under ``.ratchet/cache/`` when that exists, keyed by the binary);
- warnings: a scope pattern that matches no tracked file of the target branch; a model
  provider whose key variable is unset or whose server is not configured.

It never raises for a bad configuration: the report carries the issues. Not imported by
the loaders (nor by the gate): only the CLI uses it.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import DIRECTIVES_FILE, GOALS_FILE, Config, load_config
from engine.config.files import read_config_text
from engine.config.yamlpos import KeyPath, YamlDoc, load_yaml, render_path
from engine.errors import ConfigError, ConfigIssue
from engine.gate.paths import matches

_RUFF_TIMEOUT = 30.0


@dataclass(frozen=True)
class CheckReport:
    config: Config | None
    errors: tuple[ConfigIssue, ...]
    warnings: tuple[ConfigIssue, ...]


def check_repository(
    root: Path,
    *,
    tracked: Callable[[str | None], Sequence[str] | None],
    env: Mapping[str, str],
    ruff_codes: frozenset[str] | None = None,
    remotes: Callable[[], Sequence[str]] | None = None,
    questions: Callable[[], Mapping[str, Set[int]]] | None = None,
) -> CheckReport:
    """Everything ``ratchet check`` reports for the repository at ``root``.

    ``tracked(target_branch)``: the files of that branch (None for the current one); None
    when unknown (no commit yet): the scope check is skipped. ``ruff_codes``: known rule
    codes (None: ask the installed ruff, see module doc). ``remotes()``: the repository's
    git remotes (None: ``push.remote`` is not checked against them). ``questions()``: goal
    id -> the numbers of the questions ratchet asked about it (None: answers unchecked).
    """
    try:
        config = load_config(root)
    except ConfigError as exc:
        return CheckReport(None, tuple(exc.issues), exc.warnings)
    goals = _doc(root, GOALS_FILE)
    directives = _doc(root, DIRECTIVES_FILE)
    errors: list[ConfigIssue] = []
    warnings = list(config.warnings)
    if goals is not None:
        if any(g.options.get("select") for g in config.goals):
            codes = ruff_codes if ruff_codes is not None else known_ruff_codes(root)
            if codes:
                errors += _ruff_selectors(goals, codes)
        files = tracked(config.directives.target_branch)
        if files is not None:
            warnings += _empty_scopes(goals, files)
        if questions is not None and any(g.answers for g in config.goals):
            from engine.config.answers import unknown_answers

            errors += unknown_answers(goals, questions())
    if directives is not None and goals is not None:
        warnings += _unconfigured_providers(config, directives, goals, env)
    push = config.directives.push
    if directives is not None and push and remotes is not None and push.remote not in remotes():
        warnings.append(
            _issue(
                directives,
                ("push", "remote"),
                f"no remote '{push.remote}' in this repository: nothing will be pushed",
                f"add it (`git remote add {push.remote} URL`) or name one of `git remote`",
                warning=True,
            )
        )
    return CheckReport(config, tuple(errors), tuple(warnings))


# --------------------------------------------------------------------------- ruff codes


def known_ruff_codes(root: Path) -> frozenset[str]:
    """Every rule code of the installed ruff (empty when ruff cannot be run)."""
    from engine.providers.ruff import ruff_binary  # the one place that finds ruff

    binary = ruff_binary()
    cache = _cache_file(root, binary)
    if cache is not None and cache.is_file():
        try:
            return frozenset(json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    try:
        done = subprocess.run(
            [binary, "rule", "--all", "--output-format", "json"],
            capture_output=True,
            text=True,
            timeout=_RUFF_TIMEOUT,
            check=False,
        )
        codes = frozenset(str(rule["code"]) for rule in json.loads(done.stdout))
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return frozenset()
    if cache is not None and codes:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(sorted(codes)), encoding="utf-8")
        except OSError:
            pass
    return codes


def _cache_file(root: Path, binary: str) -> Path | None:
    state = root / ".ratchet"
    if not state.is_dir():
        return None  # check never creates ratchet's state directory
    try:
        info = os.stat(binary)
    except OSError:
        return None
    key = hashlib.sha256(f"{binary}\0{info.st_mtime_ns}\0{info.st_size}".encode()).hexdigest()
    return state / "cache" / f"ruff-rules-{key[:16]}.json"


def _ruff_selectors(doc: YamlDoc, codes: frozenset[str]) -> list[ConfigIssue]:
    prefixes = sorted({c.rstrip("0123456789") for c in codes} | codes)
    issues = []
    for i, goal in enumerate(_goal_list(doc)):
        options = goal.get("options") if isinstance(goal, dict) else None
        select = options.get("select") if isinstance(options, dict) else None
        items = select if isinstance(select, list) else [select]
        for j, code in enumerate(items):
            if not isinstance(code, str) or code == "ALL":
                continue
            if any(known.startswith(code) for known in codes):
                continue
            path: KeyPath = ("goals", i, "options", "select")
            path = (*path, j) if isinstance(select, list) else path
            close = difflib.get_close_matches(code, prefixes, n=1)
            fix = f"did you mean '{close[0]}'?" if close else "see `ruff rule --all`"
            issues.append(_issue(doc, path, f"ruff has no rule '{code}'", fix))
    return issues


# --------------------------------------------------------------------------- scopes


def _empty_scopes(doc: YamlDoc, tracked: Sequence[str]) -> list[ConfigIssue]:
    issues = []
    for i, goal in enumerate(_goal_list(doc)):
        scope = goal.get("scope") if isinstance(goal, dict) else None
        for j, pattern in enumerate(scope if isinstance(scope, list) else []):
            if isinstance(pattern, str) and not matches_any(tracked, pattern):
                issues.append(
                    _issue(
                        doc,
                        ("goals", i, "scope", j),
                        f"scope pattern '{pattern}' matches no tracked file",
                        "check the path (globs are repo-relative, '**' spans directories)",
                        warning=True,
                    )
                )
    return issues


def matches_any(files: Iterable[str], pattern: str) -> bool:
    return any(matches(f, (pattern,)) for f in files)


# --------------------------------------------------------------------------- providers


def _unconfigured_providers(
    config: Config, directives: YamlDoc, goals: YamlDoc, env: Mapping[str, str]
) -> list[ConfigIssue]:
    provider = config.directives.provider
    issues = []
    seen: set[tuple[str, str]] = set()
    places: list[tuple[YamlDoc, KeyPath, str, Mapping[str, Any]]] = [
        (directives, ("provider", "name"), provider.name, provider.options)
    ]
    if provider.fallback is not None:
        fallback = provider.fallback
        places.append(
            (directives, ("provider", "fallback", "name"), fallback.name, fallback.options)
        )
    for i, goal in enumerate(config.goals):
        if goal.provider and goal.provider != provider.name and goal.status == "active":
            places.append((goals, ("goals", i, "provider"), goal.provider, {}))
    for doc, path, name, options in places:
        problem = provider_problem(name, options, env)
        if problem and (name, problem[0]) not in seen:
            seen.add((name, problem[0]))
            issues.append(_issue(doc, path, problem[0], problem[1], warning=True))
    return issues


def provider_problem(
    name: str, options: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[str, str] | None:
    """Why the provider ``name`` could not be used here, and the fix; None when it can."""
    if name == "gemini":
        from engine.providers.gemini import KEY_VARIABLES
        from engine.providers.transport import env_secret

        key, names = env_secret(env, options, KEY_VARIABLES)
        if key is None:
            return (
                f"the gemini provider has no key: {names} is not set",
                f"export {names.split()[0]}",
            )
    elif name == "openai_compat":
        from engine.providers.openai_compat import KEY_VARIABLES as OPENAI_KEYS
        from engine.providers.transport import env_secret

        key, names = env_secret(env, options, OPENAI_KEYS)
        if key is None and not (options.get("base_url") or env.get("OPENAI_BASE_URL")):
            return (
                f"the openai_compat provider has no server and no key: neither "
                f"options.base_url, OPENAI_BASE_URL nor {names} is set",
                "set OPENAI_BASE_URL (a local server) or the key",
            )
    elif name == "local":
        return _local_problem(options)
    return None


def _local_problem(options: Mapping[str, Any]) -> tuple[str, str] | None:
    from engine.providers.local import GEMMA_PACKAGE

    if importlib.util.find_spec("llama_cpp") is None:
        return "the local provider needs llama-cpp-python, which is not installed", (
            "pip install -e '.[local]' (see docs/providers.md)"
        )
    path = options.get("model_path")
    if path and not Path(str(path)).expanduser().is_file():
        return f"the local provider's model_path '{path}' is not a file", "point it at a GGUF file"
    if not path and importlib.util.find_spec(GEMMA_PACKAGE) is None:
        return "the local provider has no model: no options.model_path", "set model_path"
    return None


# --------------------------------------------------------------------------- helpers


def _doc(root: Path, name: str) -> YamlDoc | None:
    text = read_config_text(root, name)
    return None if isinstance(text, ConfigIssue) else load_yaml(text, name)


def _goal_list(doc: YamlDoc) -> list[Any]:
    goals = doc.data.get("goals") if isinstance(doc.data, dict) else None
    return goals if isinstance(goals, list) else []


def _issue(
    doc: YamlDoc, path: KeyPath, problem: str, fix: str, *, warning: bool = False
) -> ConfigIssue:
    pos = doc.value_pos(path)
    return ConfigIssue(doc.file, pos.line, pos.col, render_path(path), problem, fix, warning)
