"""A fleet's shared executor: how a member repository whose directives.yaml has no
``executor:`` of its own evaluates on the fleet's cluster, with nobody editing its files.

``ratchet fleet`` passes the fleet file's ``executor`` to a member's processes (its daemon,
and through it every ``run-once`` child) as :data:`SHARED_EXECUTOR_ENV`, a JSON object
``{"kind": ..., "address": ...}``. :func:`with_shared_executor` (called by the composition
root) applies it only when the member's directives.yaml does not set ``executor`` itself:
a member's own choice always wins. The value is checked with the very schema that checks
``directives.executor`` (an unknown kind, a bad address, Ray not installed), and a bad
value is a ConfigError naming the variable.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

from engine.config import DIRECTIVES_FILE, Config
from engine.config.directives import EXECUTOR
from engine.config.files import read_config_text
from engine.config.schema import INVALID, Cursor, nested, run
from engine.config.yamlpos import load_yaml
from engine.errors import ConfigError, ConfigIssue
from engine.model import Executor

SHARED_EXECUTOR_ENV = "RATCHET_FLEET_EXECUTOR"


def encode_executor(executor: Executor) -> str:
    """The value of :data:`SHARED_EXECUTOR_ENV` for ``executor``."""
    data: dict[str, str] = {"kind": executor.kind}
    if executor.address:
        data["address"] = executor.address
    return json.dumps(data, sort_keys=True)


def sets_executor(repo: Path) -> bool:
    """Whether ``repo/directives.yaml`` has an ``executor`` key (a file that cannot be read
    or parsed counts as not setting it: its loader reports it)."""
    text = read_config_text(repo, DIRECTIVES_FILE)
    if isinstance(text, ConfigIssue):
        return False
    data = load_yaml(text, DIRECTIVES_FILE).data
    return isinstance(data, dict) and "executor" in data


def shared_executor(environ: Mapping[str, str]) -> Executor | None:
    """The executor in :data:`SHARED_EXECUTOR_ENV`, None when unset; ConfigError when bad."""
    text = environ.get(SHARED_EXECUTOR_ENV, "").strip()
    if not text:
        return None
    doc = load_yaml(text, SHARED_EXECUTOR_ENV)  # JSON is YAML: positions come for free
    cursor = Cursor(doc, (), list(doc.issues))
    value = INVALID
    if doc.data is None and not doc.issues:
        cursor.report("empty", 'write {"kind": "local"} or {"kind": "ray", "address": ...}')
    elif doc.data is not None:
        value = run(nested(EXECUTOR), doc.data, cursor)
    if cursor.issues or value is INVALID:
        raise ConfigError(cursor.issues)
    assert isinstance(value, Executor)
    return value


def with_shared_executor(config: Config, repo: Path, environ: Mapping[str, str]) -> Config:
    """``config`` with the fleet's executor when one is given and ``repo``'s directives.yaml
    sets none; otherwise ``config`` unchanged."""
    executor = shared_executor(environ)
    if executor is None or sets_executor(repo):
        return config
    directives = dataclasses.replace(config.directives, executor=executor)
    return dataclasses.replace(config, directives=directives)
