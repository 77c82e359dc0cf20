"""Configuration: goals.yaml (WHAT), directives.yaml (HOW), rules/*.yaml (WHEN).

Loaders read files and return frozen model values, or raise
:class:`~engine.errors.ConfigError` listing *every* problem as
``FILE:LINE:COL: field: problem; fix`` (``file`` relative to the repo). A missing file
or ``rules/`` directory is an error that says to run ``ratchet init``. Warnings (issues
with ``warning`` set: no goals, nothing schedules the daemon, an unknown option) never
fail a load; :attr:`Config.warnings` carries them to ``ratchet check``.

Every file is read through ``config.files`` (size cap, regular files inside the repository
only, text checks) and parsed within ``config.bounds`` (depth, aliases, expanded size): no
bytes a user can save make a loader raise anything but ConfigError, or take more than
milliseconds and a few MB.

- :func:`load_goals`, :func:`load_directives`, :func:`load_rules`: one input each;
- :func:`load_config`: all three, with the issues of all of them in one ConfigError;
- :func:`config_fingerprint`: a sha256 over the inputs' bytes, for change detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.directives import check_directives
from engine.config.files import (
    MAX_RULE_FILES,
    check_rules_dir,
    read_config_bytes,
    read_config_text,
)
from engine.config.goals import check_goals
from engine.config.init import init_repo
from engine.config.rules import check_rules, duplicate_rule_ids
from engine.config.yamlpos import YamlDoc, load_yaml
from engine.errors import ConfigError, ConfigIssue
from engine.model import Directives, Goal, Rule

GOALS_FILE = "goals.yaml"
DIRECTIVES_FILE = "directives.yaml"
RULES_DIR = "rules"

__all__ = [
    "DIRECTIVES_FILE",
    "GOALS_FILE",
    "RULES_DIR",
    "Config",
    "config_fingerprint",
    "init_repo",
    "load_config",
    "load_directives",
    "load_goals",
    "load_rules",
]


@dataclass(frozen=True)
class Config:
    goals: tuple[Goal, ...]
    directives: Directives
    rules: tuple[Rule, ...]
    warnings: tuple[ConfigIssue, ...] = ()  # listed by ``ratchet check``; never refused here


def load_goals(repo: Path) -> tuple[Goal, ...]:
    """The goals of ``repo/goals.yaml``; raises ConfigError."""
    goals, issues = _goals(repo)
    _raise(issues)
    return goals


def load_directives(repo: Path) -> Directives:
    """The directives of ``repo/directives.yaml``; raises ConfigError."""
    directives, issues = _directives(repo)
    _raise(issues)
    assert directives is not None  # no issues -> parsed
    return directives


def load_rules(repo: Path) -> tuple[Rule, ...]:
    """All rules of ``repo/rules/*.yaml``, files in sorted order; raises ConfigError."""
    rules, issues = _rules(repo)
    _raise(issues)
    return rules


def load_config(repo: Path) -> Config:
    """Goals, directives and rules together; one ConfigError with every file's issues."""
    goals, goal_issues = _goals(repo)
    directives, directive_issues = _directives(repo)
    rules, rule_issues = _rules(repo)
    issues = goal_issues + directive_issues + rule_issues
    _raise(issues)
    assert directives is not None
    warnings = tuple(i for i in issues if i.warning)
    return Config(goals=goals, directives=directives, rules=rules, warnings=warnings)


def config_fingerprint(repo: Path) -> str:
    """sha256 over goals.yaml, directives.yaml and rules/*.yaml (names and bytes).

    Any edit, added or removed rule file changes it; a missing file counts as absent. Files
    are read like the loaders read them (no symlink out of the repository, no FIFO, at most
    1 MiB): a file they refuse counts as its refusal message.
    """
    import hashlib  # here: loading OpenSSL costs every config load (`ratchet status`) ~4 ms

    digest = hashlib.sha256()
    names = [GOALS_FILE, DIRECTIVES_FILE] + _rule_names(repo)[0]
    for name in names:
        data = read_config_bytes(repo, name)
        if isinstance(data, bytes):
            digest.update(name.encode() + b"\0+" + str(len(data)).encode() + b"\0" + data)
        else:
            digest.update(name.encode() + b"\0-" + data.render().encode() + b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------- one file each


def _goals(repo: Path) -> tuple[tuple[Goal, ...], list[ConfigIssue]]:
    doc = _read(repo, GOALS_FILE)
    if isinstance(doc, ConfigIssue):
        return (), [doc]
    return check_goals(doc)


def _directives(repo: Path) -> tuple[Directives | None, list[ConfigIssue]]:
    doc = _read(repo, DIRECTIVES_FILE)
    if isinstance(doc, ConfigIssue):
        return None, [doc]
    return check_directives(doc)


def _rules(repo: Path) -> tuple[tuple[Rule, ...], list[ConfigIssue]]:
    names, issues = _rule_names(repo)
    if issues and not names:
        return (), issues
    docs: list[YamlDoc] = []
    rules: list[Rule] = []
    for name in names:
        doc = _read(repo, name)
        if isinstance(doc, ConfigIssue):
            issues.append(doc)
            continue
        docs.append(doc)
        found, file_issues = check_rules(doc)
        rules.extend(found)
        issues.extend(file_issues)
    issues.extend(duplicate_rule_ids(docs))
    if not rules and not issues:
        issues.append(
            ConfigIssue(
                f"{RULES_DIR}/",
                1,
                1,
                "rules",
                "no rules: every candidate would merge unchecked",
                "add a rule file, or run `ratchet init` to write rules/default.yaml",
            )
        )
    return tuple(rules), issues


def _rule_names(repo: Path) -> tuple[list[str], list[ConfigIssue]]:
    """``rules/*.yaml`` names in sorted order (at most MAX_RULE_FILES) and listing issues."""
    refused = check_rules_dir(repo, RULES_DIR)
    if refused:
        return [], [refused]
    try:
        entries = sorted(p.name for p in (repo / RULES_DIR).iterdir())
    except OSError as exc:
        return [], [ConfigIssue(f"{RULES_DIR}/", 1, 1, "(file)", f"cannot list it: {exc}", "")]
    issues = [
        ConfigIssue(
            f"{RULES_DIR}/{name}",
            1,
            1,
            "(file)",
            "ignored: rule files must end in .yaml",
            f"rename it to {name[:-4]}.yaml",
        )
        for name in entries
        if name.endswith(".yml")
    ]
    names = [f"{RULES_DIR}/{name}" for name in entries if name.endswith(".yaml")]
    if len(names) > MAX_RULE_FILES:
        issues.append(
            ConfigIssue(
                f"{RULES_DIR}/",
                1,
                1,
                "(file)",
                f"{len(names)} rule files; at most {MAX_RULE_FILES} are read",
                "merge rule files: one file may hold many rules",
            )
        )
        names = names[:MAX_RULE_FILES]
    return names, issues


def _read(repo: Path, name: str) -> YamlDoc | ConfigIssue:
    text = read_config_text(repo, name)
    if isinstance(text, ConfigIssue):
        return text
    return load_yaml(text, name)


def _raise(issues: list[ConfigIssue]) -> None:
    """Raise for the errors among ``issues``; warnings alone pass."""
    errors = [i for i in issues if not i.warning]
    if errors:
        raise ConfigError(errors, warnings=tuple(i for i in issues if i.warning))
