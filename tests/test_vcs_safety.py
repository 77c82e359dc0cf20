"""The safety contract of engine.vcs: the user's working tree, index and HEAD are never written,
except a fast-forward of a checked-out target branch whose worktree is clean; hooks never run;
hostile config changes nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.errors import GitError, InputError
from engine.vcs import Repository, rejected_ref
from tests.git_testing import BOT, GIT, git, isolate_git_config, user_git, write

HOOKS = (
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-merge",
    "post-rewrite",
    "pre-rebase",
    "reference-transaction",
)


@pytest.fixture(autouse=True)
def _isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_config(tmp_path, monkeypatch)


def two_commit_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "User")
    git(root, "config", "user.email", "user@example.com")
    write(root, {"a.txt": "one\n", "pkg/mod.py": "x = 1\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    write(root, {"b.txt": "b\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "second")
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return two_commit_repo(tmp_path / "user repo")


@pytest.fixture
def repo(root: Path) -> Repository:
    return Repository.open(root)


def candidate(repo: Repository, n: int, files: dict[str, str]) -> tuple[Path, str]:
    base = repo.rev_parse("main")
    assert base
    wt = repo.add_worktree(f"g-{n}", commit=base, branch=f"ratchet/g/{n}")
    write(wt, files)
    return wt, repo.commit_all(wt, message=f"candidate {n}\n", author=BOT)


@dataclass(frozen=True)
class UserState:
    status: str
    files: dict[str, bytes]
    index: bytes
    index_mtime_ns: int
    head: str  # .git/HEAD: which branch, or detached
    head_commit: str  # what HEAD resolves to


def snapshot(root: Path) -> UserState:
    """Everything of the user's that ratchet must not change (read without writing the index)."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".ratchet")
    }
    index = root / ".git" / "index"
    return UserState(
        status=git(root, "status", "--porcelain", "--untracked-files=all"),
        files=files,
        index=index.read_bytes(),
        index_mtime_ns=index.stat().st_mtime_ns,
        head=(root / ".git" / "HEAD").read_text(),
        head_commit=git(root, "rev-parse", "HEAD"),
    )


def dirty_the_user_tree(root: Path) -> None:
    write(root, {"b.txt": "user's unsaved edit\n", "notes.txt": "untracked\n"})


def test_candidate_work_leaves_the_user_alone(repo: Repository, root: Path) -> None:
    dirty_the_user_tree(root)
    git(root, "branch", "release")
    before = snapshot(root)
    wt, sha = candidate(repo, 1, {"a.txt": "candidate\n", "b.txt": "candidate b\n"})
    write(wt, {"c.txt": "c\n"})
    sha = repo.amend_all(wt, message="amended\n", author=BOT)
    old = repo.rev_parse("release")
    assert old
    assert repo.fast_forward("release", sha, old).kind == "updated-ref"
    assert repo.update_ref_cas("refs/ratchet/review/g/1", sha, "0" * 40)
    repo.archive(rejected_ref("g", 1), sha)
    repo.remove_worktree(wt)
    assert repo.delete_branch("ratchet/g/1")
    repo.prune_stale()
    assert repo.revert(sha, "release", author=BOT).ff.kind == "updated-ref"
    assert snapshot(root) == before
    assert repo.fsck()


@pytest.mark.parametrize(
    ("scenario", "kind"),
    [
        ("clean", "fast-forwarded"),
        ("clean-with-untracked", "fast-forwarded"),
        ("dirty-tracked", "dirty"),
        ("staged", "dirty"),
        ("untracked-in-the-way", "dirty"),
        ("rebasing", "dirty"),
        ("moved", "moved"),
        ("not-ff", "not-ff"),
        ("not-checked-out", "updated-ref"),
        ("not-checked-out-moved", "moved"),
    ],
)
def test_fast_forward(repo: Repository, root: Path, scenario: str, kind: str) -> None:
    _, new = candidate(repo, 1, {"a.txt": "candidate\n", "new.txt": "new\n"})
    old = repo.rev_parse("main")
    assert old
    if scenario == "clean-with-untracked":
        write(root, {"notes.txt": "mine\n"})
    elif scenario == "dirty-tracked":
        write(root, {"b.txt": "edit\n"})
    elif scenario == "staged":
        write(root, {"staged.txt": "s\n"})
        git(root, "add", "staged.txt")
    elif scenario == "untracked-in-the-way":
        write(root, {"new.txt": "the user's own new.txt\n"})
    elif scenario == "rebasing":
        git(root, "checkout", "-q", "-b", "other", "HEAD~1")
        write(root, {"b.txt": "conflict\n"})
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "other")
        git(root, "checkout", "-q", "main")
        assert not GIT.call("rebase", "other", cwd=root).ok  # stopped on a conflict
    elif scenario == "moved":
        write(root, {"b.txt": "user commit\n"})
        git(root, "commit", "-q", "-am", "user moved main")
    elif scenario == "not-ff":
        new = str(repo.rev_parse("main~1"))
    elif scenario.startswith("not-checked-out"):
        git(root, "checkout", "-q", "-b", "feature")
        if scenario.endswith("moved"):
            git(root, "update-ref", "refs/heads/main", new)
    before = snapshot(root)
    main_before = repo.rev_parse("main")

    result = repo.fast_forward("main", new, old)

    assert (result.kind, result.ok) == (kind, kind in ("fast-forwarded", "updated-ref"))
    if kind == "fast-forwarded":
        assert result.worktree == root and repo.rev_parse("main") == new
        assert (root / "a.txt").read_text() == "candidate\n"
        assert (root / "new.txt").read_text() == "new\n"
        untracked = "?? notes.txt\n" if scenario == "clean-with-untracked" else ""
        assert git(root, "status", "--porcelain") == untracked
    elif kind == "updated-ref":
        assert repo.rev_parse("main") == new
        assert snapshot(root) == before
    else:
        assert repo.rev_parse("main") == main_before
        assert snapshot(root) == before


def test_hooks_never_run(repo: Repository, root: Path, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    hooks = tmp_path / "configured hooks"
    for directory in (root / ".git" / "hooks", hooks):
        directory.mkdir(exist_ok=True)
        for name in HOOKS:
            hook = directory / name
            hook.write_text(f'#!/bin/sh\ntouch "{markers}/{name}"\n')
            hook.chmod(0o755)
    wt, _ = candidate(repo, 1, {"a.txt": "candidate\n"})
    write(wt, {"c.txt": "c\n"})
    repo.amend_all(wt, message="amended\n", author=BOT)
    write(root, {"b.txt": "user\n"})
    git(root, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-am", "user")
    assert repo.rebase(wt, "main", author=BOT)
    head, old = repo.head_of(wt), repo.rev_parse("main")
    assert head and old
    git(root, "config", "core.hooksPath", str(hooks))  # the repo's config points at hooks too
    assert repo.fast_forward("main", head, old).kind == "fast-forwarded"
    assert repo.revert(head, "main", author=BOT).applied
    repo.archive(rejected_ref("g", 1), head)
    repo.remove_worktree(wt)
    assert sorted(os.listdir(markers)) == []
    user_git(root, "commit", "-q", "--allow-empty", "-m", "plain git runs hooks")  # hooks work
    assert "pre-commit" in os.listdir(markers)


def test_hostile_config_changes_nothing(repo: Repository, root: Path) -> None:
    for key, value in [
        ("commit.gpgSign", "true"),
        ("gpg.program", "false"),  # any attempt to sign fails
        ("merge.autoStash", "true"),
        ("rebase.autoStash", "true"),
        ("rebase.updateRefs", "true"),
        ("diff.noprefix", "true"),
        ("diff.external", "false"),
        ("core.editor", "false"),
    ]:
        git(root, "config", key, value)
    wt, sha = candidate(repo, 1, {"a.txt": "candidate\n"})
    git(root, "branch", "feature", sha)  # rebase.updateRefs would move it
    assert "--- a/a.txt\n+++ b/a.txt" in repo.diff("main", sha)
    write(root, {"b.txt": "user\n"})
    git(root, "-c", "commit.gpgSign=false", "commit", "-q", "-am", "user")
    assert repo.rebase(wt, "main", author=BOT) is True
    assert repo.rev_parse("feature") == sha
    write(wt, {"a.txt": "uncommitted\n"})
    with pytest.raises(GitError, match="unstaged changes"):  # not silently auto-stashed
        repo.rebase(wt, "main~1", author=BOT)
    assert (wt / "a.txt").read_text() == "uncommitted\n"
    head, old = repo.head_of(wt), repo.rev_parse("main")
    assert head and old
    write(root, {"b.txt": "dirty\n"})
    assert repo.fast_forward("main", head, old).kind == "dirty"  # merge.autoStash not used
    assert (root / "b.txt").read_text() == "dirty\n" and repo.rev_parse("main") == old


def test_revert_on_checked_out_clean_branch(repo: Repository, root: Path) -> None:
    wt, sha = candidate(repo, 1, {"a.txt": "candidate\n"})
    repo.remove_worktree(wt)
    assert repo.fast_forward("main", sha, str(repo.rev_parse("main"))).ok
    result = repo.revert(sha, "main", author=BOT)
    assert result.applied and result.ff.kind == "fast-forwarded"
    assert repo.rev_parse("main") == result.commit and repo.is_bot_commit(result.commit, BOT)
    assert repo.commit_message(result.commit).startswith('Revert "candidate 1"\n')
    assert (root / "a.txt").read_text() == "one\n"
    assert git(root, "status", "--porcelain") == ""
    assert [w.path for w in repo.list_worktrees()] == [root]
    assert "reverted with" in str(result)


@pytest.mark.parametrize("user_on", ["main-dirty", "feature"])
def test_revert_leaves_the_working_tree_alone(repo: Repository, root: Path, user_on: str) -> None:
    wt, sha = candidate(repo, 1, {"a.txt": "candidate\n"})
    repo.remove_worktree(wt)
    assert repo.fast_forward("main", sha, str(repo.rev_parse("main"))).ok
    if user_on == "feature":
        git(root, "checkout", "-q", "-b", "feature")
    dirty_the_user_tree(root)
    before = snapshot(root)
    result = repo.revert(sha, "main", author=BOT, message="Undo it\n")
    assert snapshot(root) == before
    assert [w.path for w in repo.list_worktrees()] == [root]
    if user_on == "feature":
        assert result.applied and repo.show_file("main", "a.txt") == "one\n"
        assert repo.commit_message("main") == "Undo it\n"
    else:
        assert not result.applied and result.ff.kind == "dirty"
        assert repo.rev_parse("main") == sha
        assert "was not moved" in str(result)


def test_revert_refuses_commits_not_on_the_branch(repo: Repository) -> None:
    wt, sha = candidate(repo, 1, {"a.txt": "candidate\n"})
    with pytest.raises(InputError, match="not on branch main"):
        repo.revert(sha, "main", author=BOT)
    with pytest.raises(InputError, match="no such"):
        repo.revert("nope", "main", author=BOT)


def test_unusual_paths(tmp_path: Path) -> None:
    root = two_commit_repo(tmp_path / "dir with spaces" / "my répo")
    repo = Repository.open(root / "pkg")
    _, sha = candidate(repo, 1, {"sub dir/ü file.txt": "u\n", "a.txt": "candidate\n"})
    assert "sub dir/ü file.txt" in repo.ls_files(sha)
    assert [c.path for c in repo.changed_files("main", sha)] == ["a.txt", "sub dir/ü file.txt"]
    assert repo.show_file(sha, "sub dir/ü file.txt") == "u\n"
    assert repo.fast_forward("main", sha, str(repo.rev_parse("main"))).kind == "fast-forwarded"
    assert (root / "sub dir" / "ü file.txt").read_text() == "u\n"
    assert repo.prune_stale() == [str(repo.worktrees_dir / "g-1")]


def test_candidate_cannot_redirect_git_from_its_worktree(
    repo: Repository, root: Path, tmp_path: Path
) -> None:
    """Candidate code replaces the worktree's .git file with one naming a repository whose
    config runs a command; ratchet's git calls in that worktree must ignore it."""
    marker = tmp_path / "pwned"
    script = tmp_path / "evil.sh"
    script.write_text(f'#!/bin/sh\ntouch "{marker}"\n')
    script.chmod(0o755)
    evil = tmp_path / "evil"
    evil.mkdir()
    git(evil, "init", "-q")
    git(evil, "config", "core.fsmonitor", str(script))
    git(evil, "config", "core.hooksPath", str(tmp_path))
    wt, first = candidate(repo, 1, {"a.txt": "candidate\n"})
    (wt / ".git").write_text(f"gitdir: {evil / '.git'}\n")
    write(wt, {"a.txt": "edited\n", "c.txt": "c\n"})
    assert repo.is_clean(wt) is False
    sha = repo.amend_all(wt, message="amended\n", author=BOT)
    assert repo.head_of(wt) == sha == repo.rev_parse("ratchet/g/1")
    assert repo.show_file(sha, "c.txt") == "c\n" and ".git" not in repo.ls_files(sha)
    assert repo.checked_out_at("ratchet/g/1") == wt
    repo.remove_worktree(wt)
    assert not wt.exists() and [w.path for w in repo.list_worktrees()] == [root]
    assert not marker.exists()
    assert git(evil, "status", "--porcelain") == ""  # nothing was committed or staged there
    assert first != sha
