"""The CLI tells the truth without a daemon: --version, shell completion, flags shown as
flags, ``status`` read from the repository (configuration, goals, candidates from refs, a
warning that nothing schedules cycles), ``pause`` saying when it applies, ``log`` filters."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.repo_helpers import git, make_repo, ratchet, write


def test_version_completion_and_flags_rendered_as_flags() -> None:
    version = ratchet("--version")
    assert version.code == 0 and version.stdout.startswith("ratchet "), version.stderr
    # typer detects the shell from the parent process (here: pytest); name it instead
    no_detection = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    completion = ratchet("--show-completion", "bash", env=no_detection)
    assert completion.code == 0 and "complete" in completion.stdout
    for args in (("log", "--help"), ("review", "reject", "--help"), ("revert", "--help")):
        shown = ratchet(*args)
        assert shown.code == 0, shown.stderr
        assert "<bool>" not in shown.stdout and "None" not in shown.stdout
    assert "--verbose" in ratchet("log", "--help").stdout


@pytest.mark.slow
def test_status_without_a_daemon_reads_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    shown = ratchet("status", "--repo", str(repo))
    assert shown.code == 0, shown.stderr
    out = shown.stdout
    assert "not running" in out and "configuration: ok, 1 goal(s), target main" in out
    assert "goals:         simplify (active)" in out and "review:        none" in out
    assert "nothing runs cycles now" in out
    data = json.loads(ratchet("status", "--repo", str(repo), "--json").stdout)
    assert data["running"] is False and data["configuration"] == "ok"
    assert data["goals"] == ["simplify (active)"] and data["review_candidates"] == []

    # a review branch appears from the refs alone, and disappears when deleted
    git(repo, "branch", "ratchet/simplify/7", "main")
    message = "Try\n\nRatchet-Goal: simplify\nRatchet-Decision: review\n"
    git(repo, "commit", "--allow-empty", "-q", "-m", message)
    git(repo, "branch", "-f", "ratchet/simplify/7", "HEAD")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert "review:        simplify/7" in ratchet("status", "--repo", str(repo)).stdout
    git(repo, "branch", "-D", "ratchet/simplify/7")
    assert "review:        none" in ratchet("status", "--repo", str(repo)).stdout

    write(repo / "goals.yaml", "version: 1\ngoals:\n  - id: simplify\n    priority: high\n")
    broken = ratchet("status", "--repo", str(repo))
    assert "configuration: INVALID" in broken.stdout and "goals.yaml:" in broken.stdout
    assert "ok" not in broken.stdout.split("configuration:")[1].splitlines()[0]

    paused = ratchet("pause", "--repo", str(repo))
    assert paused.code == 0 and "applies when it starts" in paused.stdout
    assert "[PAUSED]" in ratchet("status", "--repo", str(repo)).stdout
    assert ratchet("resume", "--repo", str(repo)).code == 0


@pytest.mark.slow
def test_log_filters_and_bad_since(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    assert ratchet("log", "--repo", str(repo)).stdout.startswith("no cycles yet")
    bad = ratchet("log", "--repo", str(repo), "--since", "yesterday-ish")
    assert bad.code == 2 and "--since 'yesterday-ish'" in bad.stderr
    assert ratchet("log", "--repo", str(repo), "--since", "7d", "--goal", "x").code == 0


def test_status_shows_the_context_window_a_model_endpoint_refused_beyond(
    tmp_path: Path,
) -> None:
    """Why a model gets small prompts is in ``status``: the window learned from a refusal
    (engine.providers.window), with how to forget it."""
    from engine.providers.window import Window, WindowMemory

    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    key = "openai_compat http://127.0.0.1:8000/v1 gpt-4o-mini"
    WindowMemory(repo / ".ratchet").put(key, Window(tokens=2048, ratio=1.2))
    old = "openai_compat http://127.0.0.1:9000/v1 m"  # learned two days ago: no longer in force
    WindowMemory(repo / ".ratchet", clock=lambda: time.time() - 2 * 86400).put(
        old, Window(tokens=512, ratio=1.0)
    )
    shown = ratchet("status", "--repo", str(repo))
    assert shown.code == 0, shown.stderr
    assert f"model window:  {key}: 2048 tokens (learned " in shown.stdout
    assert "delete .ratchet/endpoint-windows.json" in shown.stdout and old not in shown.stdout
    data = json.loads(ratchet("status", "--repo", str(repo), "--json").stdout)
    assert [(w["endpoint"], w["tokens"]) for w in data["model_windows"]] == [(key, 2048)]
