"""``ratchet init``: writes missing config from the templates, never overwrites, and lists
the state directory in the repository's exclude file exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_config
from engine.config.init import TEMPLATES, init_repo, template_text
from tests.repo_helpers import git


def exclude_file(repo: Path) -> Path:
    """What the CLI passes: ``<git common dir>/info/exclude`` (shared by worktrees)."""
    return (repo / git(repo, "rev-parse", "--git-common-dir")).resolve() / "info" / "exclude"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def test_init_writes_every_file_and_the_exclusion(repo: Path) -> None:
    assert init_repo(repo, exclude_file(repo)) == [
        "wrote goals.yaml",
        "wrote directives.yaml",
        "wrote rules/default.yaml",
        "added /.ratchet/ to .git/info/exclude",
    ]
    for dest, template in TEMPLATES.items():
        assert (repo / dest).read_text() == template_text(template)
    assert exclude_file(repo).read_text().splitlines()[-1] == "/.ratchet/"
    config = load_config(repo)  # what init writes is valid, and warns of nothing
    assert config.warnings == ()
    assert config.directives.schedule.cron == ("0 2 * * *",)  # the daemon runs nightly


def test_init_never_overwrites_and_is_idempotent(repo: Path) -> None:
    (repo / "goals.yaml").write_text("version: 1\ngoals: []\n# mine\n")
    first = init_repo(repo, exclude_file(repo))
    assert first[0] == "kept goals.yaml (exists)"
    after_first = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}

    assert init_repo(repo, exclude_file(repo)) == [
        "kept goals.yaml (exists)",
        "kept directives.yaml (exists)",
        "kept rules/default.yaml (exists)",
        "kept .git/info/exclude (/.ratchet/ already listed)",
    ]
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == after_first
    assert (repo / "goals.yaml").read_text().endswith("# mine\n")
    assert exclude_file(repo).read_text().count(".ratchet") == 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "/.ratchet/\n"),
        ("*.log", "*.log\n/.ratchet/\n"),  # no final newline: one is added first
        ("*.log\n", "*.log\n/.ratchet/\n"),
        (".ratchet\n", ".ratchet\n"),  # any spelling of the state dir counts
        ("  .ratchet/  \n", "  .ratchet/  \n"),
        ("/.ratchet\n", "/.ratchet\n"),
    ],
)
def test_exclude_file_edits(repo: Path, before: str, after: str) -> None:
    exclude = exclude_file(repo)
    exclude.write_text(before)
    init_repo(repo, exclude)
    init_repo(repo, exclude)
    assert exclude.read_text() == after


def test_exclude_file_and_its_directory_are_created(tmp_path: Path) -> None:
    exclude = tmp_path / "gitdir" / "info" / "exclude"
    init_repo(tmp_path / "repo", exclude)
    assert exclude.read_text() == "/.ratchet/\n"


def test_worktrees_share_the_common_exclude_file(repo: Path, tmp_path: Path) -> None:
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
        "-m", "root")  # fmt: skip
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    assert exclude_file(tmp_path / "wt") == exclude_file(repo)


def test_without_an_exclude_file_only_the_config_is_written(tmp_path: Path) -> None:
    assert init_repo(tmp_path) == [
        "wrote goals.yaml",
        "wrote directives.yaml",
        "wrote rules/default.yaml",
    ]
