"""Shared by the engine.vcs tests: the git runner under test, a bot identity, a writer,
and isolation from the machine's global and system git config."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engine.model import Identity
from engine.vcs import Git

BOT = Identity(name="ratchet-bot", email="bot@example.invalid")
GIT = Git()


def git(cwd: Path, *args: str) -> str:
    return GIT.run(*args, cwd=cwd)


def identity_env(name: str, email: str) -> dict[str, str]:
    """The environment that makes ``name <email>`` author and committer (pass as ``env=``)."""
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


# A committer for repositories whose config names nobody.
IDENTITY_ENV = identity_env("t", "t@example.invalid")
# ratchet's default identity (``directives.identity``), and a human.
BOT_ENV = identity_env(Identity().name, Identity().email)
HUMAN_ENV = identity_env("Ada", "ada@example.invalid")


def user_git(
    cwd: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> str:
    """git as a user runs it, without ratchet's safety config (``GIT`` always adds it): the
    control that proves a hook or setting is live, and how tests set up repositories.
    ``env`` is added to the environment; the machine's system config is never read.
    Returns stdout as git printed it."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})},
    )
    return done.stdout


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def isolate_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git config from the machine running the tests."""
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
