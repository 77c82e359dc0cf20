"""engine.vcs.upkeep (the daemon's git operations, formerly daemon/gitops) and the one safety
config every git call carries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.vcs import Git, RefusedOperation, Repository
from engine.vcs.safety import SAFE_CONFIG
from engine.vcs.upkeep import (
    add_detached_worktree,
    clone_scratch,
    fsck_report,
    set_tag,
    tree_id,
)
from tests.git_testing import git, isolate_git_config, user_git, write


@pytest.fixture(autouse=True)
def _isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_config(tmp_path, monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "User")
    git(root, "config", "user.email", "user@example.com")
    write(root, {"pkg/mod.py": "x = 1\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return Repository.open(root)


def _hooks_that_mark(root: Path, markers: Path) -> None:
    markers.mkdir()
    hooks = root / ".git" / "hooks"
    for name in ("post-checkout", "reference-transaction", "pre-commit", "post-commit"):
        (hooks / name).write_text(f'#!/bin/sh\ntouch "{markers}/{name}"\n')
        (hooks / name).chmod(0o755)


def test_the_one_safety_config_disables_hooks_and_signing_for_every_call() -> None:
    settings = dict(s.split("=", 1) for s in SAFE_CONFIG[1::2])
    assert SAFE_CONFIG[0::2] == ("-c",) * len(settings)
    assert settings["core.hooksPath"] == "/dev/null"
    assert settings["commit.gpgSign"] == settings["tag.gpgSign"] == "false"
    assert settings["merge.autoStash"] == settings["rebase.autoStash"] == "false"


def test_a_bare_git_runner_never_runs_hooks(repo: Repository, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    _hooks_that_mark(repo.root, markers)
    Git().run("commit", "-q", "--allow-empty", "-m", "through Git", cwd=repo.root)
    Git().run("checkout", "-q", "-b", "other", cwd=repo.root)
    assert os.listdir(markers) == []
    user_git(repo.root, "checkout", "-q", "main")  # the control: plain git runs them
    assert "post-checkout" in os.listdir(markers)


def test_runtime_worktrees_clones_and_tags_run_no_hooks(repo: Repository, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    _hooks_that_mark(repo.root, markers)
    head = repo.rev_parse("HEAD")
    assert head
    base = repo.state_dir / "runtime"
    wt = add_detached_worktree(repo, base, head[:12], head)
    assert (wt / "pkg" / "mod.py").read_text() == "x = 1\n" and repo.head_of(wt) == head
    assert add_detached_worktree(repo, base, head[:12], head) == wt  # replaced, not refused
    clone = clone_scratch(repo, repo.state_dir / "canary" / "c1", head, "main")
    assert git(clone, "remote") == "" and git(clone, "rev-parse", "HEAD").strip() == head
    assert set_tag(repo, "ratchet/known-good", head, None)
    assert not set_tag(repo, "ratchet/known-good", head, None)  # compare-and-swap lost
    repo.remove_worktree(wt, base=base)
    assert not wt.exists() and len(repo.list_worktrees()) == 1
    assert os.listdir(markers) == []


@pytest.mark.parametrize("name", ["../escape", "a/b"])
def test_worktrees_outside_the_named_directory_are_refused(repo: Repository, name: str) -> None:
    head = repo.rev_parse("HEAD")
    assert head
    with pytest.raises(RefusedOperation):
        add_detached_worktree(repo, repo.state_dir / "runtime", name, head)


def test_only_ratchet_tags_move(repo: Repository) -> None:
    head = repo.rev_parse("HEAD")
    assert head
    with pytest.raises(RefusedOperation):
        set_tag(repo, "v1.0", head, None)


def test_history_reads(repo: Repository) -> None:
    main = repo.rev_parse("main")
    assert main
    git(repo.root, "checkout", "-q", "-b", "ratchet/g/1")
    write(repo.root, {"pkg/new.py": "y = 2\n"})
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", "bot work")
    tip = repo.rev_parse("HEAD")
    git(repo.root, "checkout", "-q", "main")
    assert tip
    assert tree_id(repo, tip, "pkg") and tree_id(repo, tip, "pkg") != tree_id(repo, main, "pkg")
    assert tree_id(repo, main, "pkg/new.py") == ""
    assert fsck_report(repo) == (True, "")


def test_worktrees_added_and_removed_from_several_threads_at_once_all_succeed(
    repo: Repository,
) -> None:
    """Two workers of `run-once --workers 2` (and a behaviour session's base worktree
    beside them) add and remove worktrees at the same moment: git's own commands read one
    another's half-written records ("failed to read .git/worktrees/g4-1/commondir")."""
    import threading

    head = repo.rev_parse("HEAD")
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def churn(k: int) -> None:
        try:
            start.wait()
            for i in range(25):
                path = repo.add_worktree(f"w{k}-{i}", commit=head, branch=f"ratchet/t{k}/{i}")
                assert (path / "pkg" / "mod.py").is_file()
                repo.list_worktrees()
                repo.remove_worktree(path)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert repo.linked_worktrees() == []
