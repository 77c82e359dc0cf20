"""Self-modification, end to end: the daemon on a repository that *is* ratchet (a copy of
this very source tree), running real cycles from its known-good revision.

- a merged change that breaks ratchet is caught by the canary and reverted on the target,
  with a commit that says why, and the daemon stays on the old revision;
- a promoted revision that crashes at its first cycle is rolled back, and that is recorded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.repo_helpers import ROOT, git, plan_file, write
from tests.test_daemon import RunningDaemon, daemons, save_like_an_editor

__all__ = ["daemons"]  # the fixture, re-used

pytestmark = pytest.mark.slow

ONLY_RULE = """version: 1
rules:
  - id: tests-pass
    description: The smoke test passes.
    require: candidate.tests.failed + candidate.tests.errors == 0
    on_fail: reject
"""
MAIN_GUARD = '\nif __name__ == "__main__":'


def ratchet_copy(root: Path, goals: list[dict[str, Any]], schedule: dict[str, Any]) -> Path:
    """A git repository holding this ratchet's code (so the daemon sees itself), a smoke test
    and its own steering files."""
    root.mkdir(parents=True)
    shutil.copytree(
        ROOT / "engine", root / "engine", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    write(root / "tests" / "test_smoke.py", "def test_smoke():\n    assert True\n")
    write(root / "goals.yaml", yaml.safe_dump({"version": 1, "goals": goals}, sort_keys=False))
    write(
        root / "directives.yaml",
        yaml.safe_dump(
            {
                "version": 1,
                "target_branch": "main",
                "test_command": "python -m pytest -q -p no:cacheprovider tests",
                "timeouts": {"tests": 300},
                "schedule": schedule,
            },
            sort_keys=False,
        ),
    )
    write(root / "rules" / "default.yaml", ONLY_RULE)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "user@example.invalid")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "ratchet, self-hosted")
    return root


def breaking(command: str) -> tuple[str, str]:
    """A search/replace that makes `python -m engine.cli <command>` fail, and nothing else:
    the module still imports and the smoke test still passes."""
    code = (
        '\nif __name__ == "__main__":\n'
        "    import sys as _argv_check\n\n"
        f"    if _argv_check.argv[1:2] == [{command!r}]:\n"
        f'        raise RuntimeError("this revision of ratchet cannot run {command}")\n'
    )
    return MAIN_GUARD, code + MAIN_GUARD


def self_change(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
    search: str,
    replace: str,
    verdict: str,
) -> tuple[Path, RunningDaemon, str, str]:
    """Start the daemon on a ratchet copy, let one cycle merge the given change to
    engine/cli/__main__.py, and wait for the canary's verdict (a note containing ``verdict``).
    Returns the repo, the daemon, the start revision and the merged commit."""
    plan = plan_file(
        tmp_path / "plans" / "change.yaml",
        "Tidy the CLI entry point",
        [
            {
                "file": "engine/cli/__main__.py",
                "op": "search_replace",
                "search": search,
                "replace": replace,
            }
        ],
    )
    the_goal = {
        "id": "tidy-cli",
        "description": "Tidy the CLI.",
        "scope": ["engine/cli/__main__.py"],
        "provider": "scripted",
        "options": {"plans": [str(plan)]},
        "max_attempts": 1,
        "status": "paused",
    }
    repo = ratchet_copy(tmp_path / "ratchet", [the_goal], {"on_change": "run"})
    # The human works on another branch: the target is not checked out, so the goals.yaml
    # edit below (a local change) does not make the merge wait.
    git(repo, "checkout", "-q", "-b", "human-work")
    start = git(repo, "rev-parse", "main")
    daemon = daemons(repo)
    ready = daemon.ready()
    assert ready["self_hosting"] and ready["known_good"] == start
    assert git(repo, "rev-parse", "refs/tags/ratchet/known-good") == start

    save_like_an_editor(
        repo / "goals.yaml",
        yaml.safe_dump({"version": 1, "goals": [{**the_goal, "status": "active"}]}),
    )
    done = daemon.wait_for(
        lambda s: (
            any(verdict in n for n in s.get("notes", []))
            or any(o["outcome"] != "merged" for o in s.get("last_outcomes", []))
        ),
        "the canary's verdict",
        timeout=500,
        poll=0.5,
    )
    cycle = done["last_outcomes"][0]
    assert cycle["outcome"] == "merged", cycle
    return repo, daemon, start, cycle["commit"]


def test_a_self_change_that_breaks_the_daemon_is_caught_by_the_canary_and_reverted(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    search, replace = breaking("check")
    repo, daemon, start, merged = self_change(tmp_path, daemons, search, replace, "refused")

    # The merge is reverted on the target by a commit that says why.
    head = git(repo, "rev-parse", "main")
    assert git(repo, "rev-parse", "main^") == merged
    message = git(repo, "log", "-1", "--format=%B", "main")
    print(message)
    assert message.startswith('Revert "Tidy the CLI entry point"')
    assert "failed at step 'check'" in message and "cannot run check" in message
    assert "Ratchet-Decision: reverted" in message and f"This reverts commit {merged}" in message
    assert git(repo, "diff", start, head, "--", "engine") == ""
    # The daemon stays on the old revision, and says so.
    assert git(repo, "rev-parse", "refs/tags/ratchet/known-good") == start
    status = json.loads((repo / ".ratchet" / "daemon.json").read_text())
    assert status["known_good"] == start and status["runtime"] == start
    assert daemon.proc.poll() is None
    assert daemon.terminate() == 0
    assert not (repo / ".ratchet" / "canary").exists() or not any(
        (repo / ".ratchet" / "canary").iterdir()
    )


def test_a_self_change_that_passes_the_canary_is_promoted(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    comment = "\n# The entry point of `python -m engine.cli`." + MAIN_GUARD
    repo, daemon, start, merged = self_change(tmp_path, daemons, MAIN_GUARD, comment, "promoted")
    assert git(repo, "rev-parse", "main") == merged  # nothing reverted
    assert git(repo, "rev-parse", "refs/tags/ratchet/known-good") == merged
    status = json.loads((repo / ".ratchet" / "daemon.json").read_text())
    assert status["known_good"] == merged and status["runtime"] == merged
    note = next(n for n in status["notes"] if "promoted" in n)
    assert "canary passed" in note and "cycle" in note
    events = json.loads((repo / ".ratchet" / "selfhost.json").read_text())["events"]
    assert events[0] == {**events[0], "action": "promoted", "sha": merged, "previous": start}
    assert daemon.terminate() == 0


def test_a_promoted_revision_that_crashes_is_rolled_back_and_recorded(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    paused = {
        "id": "tidy-cli",
        "description": "Tidy the CLI.",
        "scope": ["engine/cli/__main__.py"],
        "provider": "ruff",
        "status": "paused",
    }
    repo = ratchet_copy(tmp_path / "ratchet", [paused], {"interval_minutes": 0.05})
    good = git(repo, "rev-parse", "main")
    # Revision `bad` was promoted earlier (its canary passed) but its run-once crashes.
    search, replace = breaking("run-once")
    cli = repo / "engine" / "cli" / "__main__.py"
    cli.write_text(cli.read_text().replace(search, replace, 1))
    git(repo, "commit", "-q", "-am", "a change whose cycles crash")
    bad = git(repo, "rev-parse", "main")
    git(repo, "tag", "ratchet/known-good", bad)
    write(repo / ".ratchet" / "selfhost.json", json.dumps({"previous": [good]}))

    daemon = daemons(repo)
    rolled = daemon.wait_for(
        lambda s: s.get("known_good") == good, "the rollback", timeout=120, poll=0.2
    )
    assert rolled["last_outcomes"][0]["outcome"] == "crashed"
    assert rolled["last_outcomes"][0]["message"]  # the crash's last words
    assert any(f"rolled back known-good {bad[:12]} -> {good[:12]}" in n for n in rolled["notes"])
    assert git(repo, "rev-parse", "refs/tags/ratchet/known-good") == good
    events = json.loads((repo / ".ratchet" / "selfhost.json").read_text())["events"]
    assert events[0]["action"] == "rolled-back" and events[0]["previous"] == bad
    # The next cycle runs from the good revision, and works.
    after = daemon.wait_for(
        lambda s: s["last_outcomes"][0]["outcome"] == "nothing-to-do",
        "a cycle from the good revision",
        timeout=120,
        poll=0.2,
    )
    assert after["runtime"] == good
    assert daemon.terminate() == 0
