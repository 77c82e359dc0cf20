"""engine.vcs.listed: a Repository whose refs are listed once answers every read exactly as
git does through a plain Repository, on real repositories, with fewer git processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.vcs import Git, GitResult, ListedRefs, Repository
from engine.vcs.history import ref_messages
from tests.git_testing import IDENTITY_ENV, isolate_git_config, user_git, write

PREFIXES = [
    ("refs/ratchet/", "refs/heads/ratchet/", "refs/remotes/"),
    ("refs/remotes/", "refs/heads/ratchet/"),
    ("refs/ratchet/rejected/",),
    ("refs/heads/",),
    ("refs/tags/",),  # outside the listing: git answers
    ("refs/heads",),  # no trailing slash: git's pattern rules, so git answers
]


class CountingGit(Git):
    """The real git, counting its processes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, ...]] = []

    def call(self, *args: str, **kwargs: Any) -> GitResult:
        self.calls.append(args)
        return super().call(*args, **kwargs)


@pytest.fixture(autouse=True)
def _isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_config(tmp_path, monkeypatch)


def sh(root: Path, *args: str) -> str:
    return user_git(root, *args, env=IDENTITY_ENV).strip()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """main with two commits, ratchet branches and archive refs, a remote-tracking twin."""
    root = tmp_path / "repo"
    root.mkdir()
    sh(root, "init", "-q", "-b", "main")
    write(root, {"a.txt": "one\n"})
    sh(root, "add", "-A")
    sh(root, "commit", "-q", "-m", "first")
    first = sh(root, "rev-parse", "HEAD")
    write(root, {"a.txt": "two\n"})
    sh(root, "commit", "-q", "-am", "second")
    sh(root, "branch", "ratchet/lint/1", first)
    sh(root, "update-ref", "refs/ratchet/rejected/lint/2", first)
    sh(root, "update-ref", "refs/ratchet/questions/lint/1", "HEAD")
    sh(root, "update-ref", "refs/remotes/origin/ratchet/lint/1", first)
    sh(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    sh(root, "tag", "v1", first)
    return root


def answers(repo: Repository) -> dict[str, Any]:
    return {
        "branch": repo.current_branch(),
        "head": repo.rev_parse("HEAD"),
        "main": repo.rev_parse("refs/heads/main"),
        "missing": repo.rev_parse("refs/heads/nope"),
        "tag": repo.rev_parse("v1"),
        "refs": [repo.list_refs(*p) for p in PREFIXES],
        "messages": ref_messages(repo, "refs/ratchet/rejected/"),
        "no messages": ref_messages(repo, "refs/ratchet/none/"),
    }


def assert_same_answers(root: Path) -> None:
    assert answers(ListedRefs(root)) == answers(Repository(root))


def test_answers_as_git_does(root: Path) -> None:
    assert_same_answers(root)


def test_a_detached_head_asks_git(root: Path) -> None:
    sh(root, "checkout", "-q", "--detach", "HEAD~1")
    assert_same_answers(root)
    assert ListedRefs(root).current_branch() is None


def test_a_branch_name_git_would_shorten_otherwise_asks_git(root: Path) -> None:
    sh(root, "tag", "main", "HEAD~1")  # `main` is now ambiguous: heads/main
    assert_same_answers(root)
    assert ListedRefs(root).current_branch() == "heads/main"


def test_a_remote_named_like_the_branch_asks_git(root: Path) -> None:
    # for-each-ref shortens strictly (heads/main), symbolic-ref loosely (main): git decides
    sh(root, "update-ref", "refs/remotes/main/HEAD", "HEAD")
    assert_same_answers(root)
    assert ListedRefs(root).current_branch() == "main"


def test_another_branch_and_an_empty_namespace(root: Path) -> None:
    sh(root, "checkout", "-q", "-b", "feature")
    sh(root, "update-ref", "-d", "refs/ratchet/rejected/lint/2")
    assert_same_answers(root)
    assert ListedRefs(root).refs_may_exist("refs/ratchet/rejected/") is False
    assert Repository(root).refs_may_exist("refs/ratchet/rejected/") is True


def test_one_git_process_answers_what_status_asks(root: Path) -> None:
    counted = CountingGit()
    repo = ListedRefs(root, git=counted)
    repo.current_branch()
    repo.rev_parse("HEAD")
    repo.rev_parse("refs/heads/main")
    repo.list_refs("refs/ratchet/", "refs/heads/ratchet/", "refs/remotes/")
    repo.list_refs("refs/remotes/", "refs/heads/ratchet/")
    assert [c[0] for c in counted.calls] == ["for-each-ref"]


def test_refs_are_those_of_the_listing(root: Path) -> None:
    repo = ListedRefs(root)
    before = repo.list_refs("refs/heads/")
    write(root, {"a.txt": "three\n"})
    sh(root, "commit", "-q", "-am", "third")
    assert repo.list_refs("refs/heads/") == before  # documented: one moment's answers
    assert ListedRefs(root).list_refs("refs/heads/") == Repository(root).list_refs("refs/heads/")
