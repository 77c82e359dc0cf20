"""engine.vcs on real repositories: opening, reading, refs, worktrees, commits, rebase."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import GitError, InputError
from engine.vcs import (
    ZERO_SHA,
    FileChange,
    Git,
    RefusedOperation,
    Repository,
    UnusableRepository,
    format_message,
    parse_trailers,
    rejected_ref,
)
from engine.vcs.blobs import read_blobs
from engine.vcs.git import clean_env
from engine.vcs.history import ref_messages
from tests.git_testing import BOT, GIT, IDENTITY_ENV, git, isolate_git_config, write


@pytest.fixture(autouse=True)
def _isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_config(tmp_path, monkeypatch)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A user's repository (path with a space) on main with two commits."""
    root = tmp_path / "user repo"
    root.mkdir()
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
def repo(root: Path) -> Repository:
    return Repository.open(root)


def candidate(repo: Repository, n: int, files: dict[str, str], goal: str = "g") -> tuple[Path, str]:
    """A candidate worktree on ratchet/<goal>/<n> from main, with ``files`` committed."""
    base = repo.rev_parse("main")
    assert base
    wt = repo.add_worktree(f"{goal}-{n}", commit=base, branch=f"ratchet/{goal}/{n}")
    write(wt, files)
    return wt, repo.commit_all(wt, message=f"candidate {n}\n", author=BOT)


def user_commit(root: Path, files: dict[str, str], message: str = "user work") -> str:
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


# ---------------------------------------------------------------------------- opening


def test_open_resolves_top_level_from_a_subdirectory(root: Path) -> None:
    repo = Repository.open(root / "pkg")
    assert repo.root == root
    assert repo.state_dir == root / ".ratchet"


@pytest.mark.parametrize(
    ("setup", "complaint"),
    [
        ("plain", "not inside a git repository"),
        ("empty", "no commits yet"),
        ("bare", "bare repository"),
        ("missing", "not a directory"),
        ("gitdir", "inside a .git directory"),
    ],
)
def test_open_refuses_unusable_paths(tmp_path: Path, setup: str, complaint: str) -> None:
    path = tmp_path / "x"
    if setup != "missing":
        path.mkdir()
    if setup == "empty":
        git(path, "init", "-q")
    elif setup == "bare":
        git(path, "init", "-q", "--bare")
    elif setup == "gitdir":
        git(path, "init", "-q")
        GIT.run("commit", "-q", "--allow-empty", "-m", "x", cwd=path, env=IDENTITY_ENV)
        path = path / ".git"
    with pytest.raises(UnusableRepository, match=complaint) as info:
        Repository.open(path)
    assert isinstance(info.value, InputError) and isinstance(info.value, GitError)


@pytest.mark.sandbox  # chowns to another uid: needs real root, not the sandbox's
def test_a_repository_of_another_user_is_refused_with_git_s_own_fix(tmp_path: Path) -> None:
    """Found on sdists extracted with their archive's owner (pluggy 1.7.0): git's
    "dubious ownership" refusal was reported as "not inside a git repository ... run `git
    init`", which would have made a second repository on top of the first."""
    if os.geteuid() != 0:  # CI (.ci/run) and these machines run as root: it runs there
        pytest.skip("giving the repository another owner needs root")
    path = tmp_path / "x"
    path.mkdir()
    git(path, "init", "-q")
    GIT.run("commit", "-q", "--allow-empty", "-m", "x", cwd=path, env=IDENTITY_ENV)
    for entry in [path, *path.rglob("*")]:
        os.chown(entry, 1234, 1234, follow_symlinks=False)
    with pytest.raises(UnusableRepository, match="belongs to another user") as info:
        Repository.open(path)
    assert f"git config --global --add safe.directory {path.resolve()}" in str(info.value)


def test_inherited_git_dir_is_ignored(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    assert "GIT_DIR" not in clean_env()
    repo = Repository.open(root)
    assert repo.root == root
    assert repo.current_branch() == "main"
    assert not (other / ".git" / "index").exists()


def test_git_error_carries_command_and_stderr(root: Path) -> None:
    with pytest.raises(GitError) as info:
        GIT.run("rev-parse", "--verify", "no-such-ref", cwd=root)
    assert info.value.args_ == ["rev-parse", "--verify", "no-such-ref"]
    assert "Needed a single revision" in info.value.stderr
    with pytest.raises(GitError, match="not installed"):
        Git("no-such-git-binary").run("status")


# ---------------------------------------------------------------------------- reading


def test_reads(repo: Repository, root: Path) -> None:
    head = git(root, "rev-parse", "HEAD").strip()
    assert repo.current_branch() == "main"
    assert repo.rev_parse("main") == repo.rev_parse("HEAD") == head
    assert repo.rev_parse("nope") is None
    assert repo.branch_exists("main") and not repo.branch_exists("nope")
    assert repo.list_refs("refs/heads/") == {"refs/heads/main": head}
    assert repo.git_common_dir() == root / ".git"
    assert repo.info_exclude_path() == root / ".git" / "info" / "exclude"
    assert repo.ls_files(head) == ["a.txt", "b.txt", "pkg/mod.py"]
    assert repo.ls_files("HEAD~1") == ["a.txt", "pkg/mod.py"]
    assert repo.show_file(head, "pkg/mod.py") == "x = 1\n"
    assert repo.show_file("HEAD~1", "b.txt") is None
    assert repo.commit_message(head) == "second\n"
    assert repo.commit_people(head) == ("User <user@example.com>",) * 2
    assert repo.fsck()
    git(root, "checkout", "-q", "--detach")
    assert repo.current_branch() is None


@pytest.mark.parametrize("bad", ["-v", "--output=/tmp/x", ""])
def test_option_like_revisions_are_refused(repo: Repository, bad: str) -> None:
    with pytest.raises(RefusedOperation):
        repo.rev_parse(bad)


def test_diff_and_changed_files_detect_renames(repo: Repository, root: Path) -> None:
    base = repo.rev_parse("main")
    assert base
    wt = repo.add_worktree("c", commit=base, branch="ratchet/g/1")
    git(wt, "mv", "pkg/mod.py", "pkg/renamed.py")
    (wt / "b.txt").unlink()
    write(wt, {"a.txt": "one\ntwo\n", "new file.txt": "n\n"})
    head = repo.commit_all(wt, message="change\n", author=BOT)
    assert sorted(repo.changed_files(base, head), key=lambda c: c.path) == [
        FileChange("M", "a.txt"),
        FileChange("D", "b.txt"),
        FileChange("A", "new file.txt"),
        FileChange("R", "pkg/renamed.py", "pkg/mod.py"),
    ]
    diff = repo.diff(base, head)
    assert "--- a/a.txt\n+++ b/a.txt\n" in diff and "+two\n" in diff
    assert "rename from pkg/mod.py\nrename to pkg/renamed.py" in diff
    assert repo.is_ancestor(base, head) and not repo.is_ancestor(head, base)
    assert repo.merge_base(base, head) == base


# ---------------------------------------------------------------------------- refs


@pytest.mark.parametrize(
    ("start", "old", "swapped", "end"),  # the ref is always moved to "second"
    [
        (None, "zero", True, "second"),
        (None, "first", False, None),
        ("first", "first", True, "second"),
        ("first", "second", False, "first"),
        ("first", "zero", False, "first"),
    ],
)
def test_update_ref_cas(
    repo: Repository, start: str | None, old: str, swapped: bool, end: str | None
) -> None:
    sha = {"first": repo.rev_parse("HEAD~1"), "second": repo.rev_parse("HEAD"), "zero": ZERO_SHA}
    ref = "refs/ratchet/test/x"
    if start:
        assert repo.update_ref_cas(ref, str(sha[start]), ZERO_SHA)
    assert repo.update_ref_cas(ref, str(sha["second"]), str(sha[old])) is swapped
    assert repo.list_refs(ref).get(ref) == (sha[end] if end else None)


def test_update_ref_cas_refuses_checked_out_branch_and_short_names(repo: Repository) -> None:
    head = repo.rev_parse("HEAD")
    old = repo.rev_parse("HEAD~1")
    assert head and old
    with pytest.raises(RefusedOperation, match="checked out"):
        repo.update_ref_cas("refs/heads/main", old, head)
    with pytest.raises(RefusedOperation, match="full ref"):
        repo.update_ref_cas("main", old, head)
    assert repo.rev_parse("main") == head
    git(repo.root, "branch", "release")
    with pytest.raises(RefusedOperation, match="does not descend"):
        repo.update_ref_cas("refs/heads/release", old, head)  # backwards: never
    assert repo.update_ref_cas("refs/heads/ratchet/g/1", old, ZERO_SHA)
    assert repo.update_ref_cas("refs/heads/ratchet/g/1", head, old)
    assert repo.update_ref_cas("refs/heads/ratchet/g/1", old, head)  # ratchet's own: any way


def test_archive_and_delete_ref(repo: Repository) -> None:
    head, old = repo.rev_parse("HEAD"), repo.rev_parse("HEAD~1")
    assert head and old
    ref = rejected_ref("g", 1)
    assert repo.archive(ref, head) == "refs/ratchet/rejected/g/1"
    assert repo.archive(ref, head) == ref  # idempotent
    with pytest.raises(GitError, match="already archives"):
        repo.archive(ref, old)
    with pytest.raises(RefusedOperation):
        repo.archive("refs/heads/ratchet/g/1", head)
    assert repo.delete_ref(ref, old) is False
    assert repo.delete_ref(ref, head) is True
    assert repo.list_refs("refs/ratchet/") == {}
    with pytest.raises(RefusedOperation):
        repo.delete_ref("refs/heads/main")


def test_delete_branch(repo: Repository) -> None:
    head = repo.rev_parse("HEAD")
    assert head
    git(repo.root, "branch", "feature")
    git(repo.root, "branch", "ratchet/g/1")
    for name in ("main", "feature", "ratchet"):
        with pytest.raises(RefusedOperation):
            repo.delete_branch(name)
    assert repo.delete_branch("ratchet/g/1") is True
    assert repo.delete_branch("ratchet/g/1") is False
    assert repo.branch_exists("feature") and repo.branch_exists("main")


def test_delete_branch_detaches_our_own_worktree(repo: Repository) -> None:
    wt, sha = candidate(repo, 1, {"a.txt": "changed\n"})
    (wt / "untracked.txt").write_text("keep\n")
    assert repo.delete_branch("ratchet/g/1") is True
    assert repo.head_of(wt) == sha
    assert (wt / "a.txt").read_text() == "changed\n"
    assert (wt / "untracked.txt").exists()


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([], 1),
        (["refs/heads/ratchet/g/1", "refs/heads/ratchet/g/3"], 4),
        (["refs/heads/ratchet/g/2", "refs/ratchet/rejected/g/7"], 8),
        (["refs/ratchet/review/g/11", "refs/heads/ratchet/g/2"], 12),
        (
            [
                "refs/heads/ratchet/other/9",
                "refs/heads/ratchet/g-x/9",
                "refs/ratchet/rejected/gg/5",
            ],
            1,
        ),
        (["refs/heads/ratchet/g/notanumber", "refs/ratchet/rejected/g/2/extra"], 1),
    ],
)
def test_next_branch_number(repo: Repository, refs: list[str], expected: int) -> None:
    head = repo.rev_parse("HEAD")
    assert head
    for ref in refs:
        git(repo.root, "update-ref", ref, head)
    assert repo.next_branch_number("g") == expected


# ---------------------------------------------------------------------------- worktrees


def test_worktree_lifecycle(repo: Repository, root: Path) -> None:
    head, old = repo.rev_parse("HEAD"), repo.rev_parse("HEAD~1")
    assert head and old
    on_branch = repo.add_worktree("g-1", commit=head, branch="ratchet/g/1")
    detached = repo.add_worktree("baseline", commit=old, branch=None)
    assert on_branch == root / ".ratchet" / "worktrees" / "g-1"
    assert (on_branch / "b.txt").read_text() == "b\n" and not (detached / "b.txt").exists()
    infos = {w.path: w for w in repo.list_worktrees()}
    assert infos[root].branch == "main"
    assert infos[on_branch].branch == "ratchet/g/1" and infos[on_branch].head == head
    assert infos[detached].detached and infos[detached].branch is None
    assert repo.checked_out_at("main") == root
    assert repo.checked_out_at("ratchet/g/1") == on_branch
    assert repo.checked_out_at("nope") is None
    assert "/.ratchet/" in repo.info_exclude_path().read_text().splitlines()
    assert git(root, "status", "--porcelain") == ""  # .ratchet/ is excluded for the user
    repo.remove_worktree(on_branch)
    repo.remove_worktree(detached)
    assert [w.path for w in repo.list_worktrees()] == [root]
    assert repo.branch_exists("ratchet/g/1")  # the branch is the record; it stays
    with pytest.raises(RefusedOperation):
        repo.add_worktree("../escape", commit=head, branch=None)


@pytest.mark.parametrize("path", [".", "pkg", ".ratchet", ".ratchet/worktrees", "../elsewhere"])
def test_writes_refuse_paths_that_are_not_our_worktrees(
    repo: Repository, root: Path, path: str
) -> None:
    write(root, {"a.txt": "user edit\n"})
    with pytest.raises(RefusedOperation, match="not one of ratchet's worktrees"):
        repo.commit_all(root / path, message="x\n", author=BOT)
    with pytest.raises(RefusedOperation):
        repo.remove_worktree(root / path)
    assert git(root, "status", "--porcelain") == " M a.txt\n"


def test_prune_stale(repo: Repository) -> None:
    head = repo.rev_parse("HEAD")
    assert head
    keep, gone, idle = (repo.add_worktree(n, commit=head, branch=None) for n in ("a", "b", "c"))
    stray = repo.worktrees_dir / "stray"
    stray.mkdir()
    (stray / "junk.txt").write_text("x")
    (repo.worktrees_dir / "stray-file").write_text("x")
    git(repo.root, "worktree", "remove", "--force", str(gone))  # registered, then dir gone
    gone2 = repo.add_worktree("d", commit=head, branch=None)
    for child in sorted(gone2.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    gone2.rmdir()
    removed = repo.prune_stale(in_use=[keep])
    assert sorted(Path(p).name for p in removed) == ["c", "d", "stray", "stray-file"]
    assert [w.path for w in repo.list_worktrees()] == [repo.root, keep]
    assert sorted(p.name for p in repo.worktrees_dir.iterdir()) == ["a"]
    assert idle.exists() is False


@pytest.mark.parametrize(
    ("change", "clean"),
    [
        ({}, True),
        ({"untracked.txt": "u\n"}, True),
        ({".ratchet/state.json": "{}"}, True),
        ({"a.txt": "edited\n"}, False),
        ({"stage:new.txt": "n\n"}, False),
        ({"delete:b.txt": ""}, False),
    ],
)
def test_is_clean(repo: Repository, root: Path, change: dict[str, str], clean: bool) -> None:
    for key, text in change.items():
        action, _, rel = key.rpartition(":")
        if action == "delete":
            (root / rel).unlink()
        else:
            write(root, {rel: text})
        if action == "stage":
            git(root, "add", rel)
    index = (root / ".git" / "index").stat().st_mtime_ns
    assert repo.is_clean(root) is clean
    assert (root / ".git" / "index").stat().st_mtime_ns == index


# ---------------------------------------------------------------------------- commits


def test_commits_are_the_bots(repo: Repository) -> None:
    wt, first = candidate(repo, 1, {"a.txt": "changed\n", "new.txt": "n\n"})
    assert repo.rev_parse("ratchet/g/1") == first
    bot = f"{BOT.name} <{BOT.email}>"
    assert repo.commit_people(first) == (bot, bot) and repo.is_bot_commit(first, BOT)
    assert not repo.is_bot_commit(str(repo.rev_parse("main")), BOT)
    assert repo.show_file(first, "new.txt") == "n\n"
    write(wt, {"b.txt": "amended\n"})
    amended = repo.amend_all(wt, message="amended\n\nBody\n", author=BOT)
    assert amended != first and repo.is_bot_commit(amended, BOT)
    assert repo.rev_parse(f"{amended}~1") == repo.rev_parse("main")
    assert repo.commit_message(amended) == "amended\n\nBody\n"
    assert repo.show_file(amended, "b.txt") == "amended\n"
    with pytest.raises(GitError, match="nothing"):
        repo.commit_all(wt, message="empty\n", author=BOT)
    empty = repo.commit_all(wt, message="empty\n", author=BOT, allow_empty=True)
    assert repo.rev_parse(f"{empty}~1") == amended


def test_rebase_onto_moved_target(repo: Repository, root: Path) -> None:
    wt, _ = candidate(repo, 1, {"a.txt": "candidate\n"})
    tip = user_commit(root, {"b.txt": "user\n"})
    assert repo.rebase(wt, tip, author=BOT) is True
    head = repo.head_of(wt)
    assert head and repo.rev_parse(f"{head}~1") == tip
    assert repo.rev_parse("ratchet/g/1") == head and repo.is_bot_commit(head, BOT)
    assert (wt / "a.txt").read_text() == "candidate\n" and (wt / "b.txt").read_text() == "user\n"


def test_rebase_conflict_is_aborted(repo: Repository, root: Path) -> None:
    wt, sha = candidate(repo, 1, {"a.txt": "candidate\n"})
    tip = user_commit(root, {"a.txt": "user\n"})
    assert repo.rebase(wt, tip, author=BOT) is False
    assert repo.head_of(wt) == sha and repo.rev_parse("ratchet/g/1") == sha
    assert (wt / "a.txt").read_text() == "candidate\n"
    assert repo.is_clean(wt) and repo.checked_out_at("ratchet/g/1") == wt
    gitdir = Path(git(wt, "rev-parse", "--absolute-git-dir").strip())
    assert not (gitdir / "rebase-merge").exists() and not (gitdir / "rebase-apply").exists()


def test_ref_messages_reads_every_tip_message_in_one_process(repo: Repository) -> None:
    shas = []
    for n, body in ((1, "plain"), (2, "two\n\nparagraphs"), (3, "")):
        wt, _ = candidate(repo, n, {f"f{n}.txt": "x\n"})
        message = format_message(f"candidate {n}", body, {"Ratchet-Goal": "g", "Ratchet-N": str(n)})
        shas.append(repo.amend_all(wt, message=message, author=BOT))
        repo.archive(f"refs/ratchet/rejected/g/{n}", shas[-1])
        repo.remove_worktree(wt)
    found = ref_messages(repo, "refs/ratchet/rejected/")
    assert sorted(found) == [f"refs/ratchet/rejected/g/{n}" for n in (1, 2, 3)]
    for n, sha in enumerate(shas, 1):
        got_sha, message = found[f"refs/ratchet/rejected/g/{n}"]
        assert got_sha == sha
        assert parse_trailers(message) == parse_trailers(repo.commit_message(sha))
        assert message.strip() == repo.commit_message(sha).strip()
    assert ref_messages(repo, "refs/ratchet/nothing/") == {}


def test_read_blobs_reads_many_files_in_one_process_as_show_file_would(
    repo: Repository, root: Path
) -> None:
    head = git(root, "rev-parse", "HEAD").strip()
    # sizes are bytes, not characters
    write(root, {"uni.txt": "naïve ☃ — ünïcode\nsecond line\n", "empty.txt": ""})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "more")
    tip = git(root, "rev-parse", "HEAD").strip()
    specs = [
        f"{tip}:uni.txt",
        f"{tip}:empty.txt",
        f"{head}:pkg/mod.py",
        f"{head}:uni.txt",  # not there yet
        f"{tip}:pkg",  # a folder, not a file
        f"{tip}:a.txt",
    ]
    got = read_blobs(repo, specs)
    expected = {}
    for spec in specs:
        rev, _, path = spec.partition(":")
        text = repo.show_file(rev, path)
        if text is not None and path != "pkg":
            expected[spec] = text
    assert got == expected
    assert got[f"{tip}:uni.txt"] == "naïve ☃ — ünïcode\nsecond line\n"
    assert read_blobs(repo, []) == {}


def test_read_blobs_falls_back_when_content_is_not_utf8(repo: Repository, root: Path) -> None:
    (root / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "latin-1")
    tip = git(root, "rev-parse", "HEAD").strip()
    got = read_blobs(repo, [f"{tip}:latin1.txt", f"{tip}:a.txt"])
    assert got == {
        f"{tip}:latin1.txt": repo.show_file(tip, "latin1.txt"),
        f"{tip}:a.txt": repo.show_file(tip, "a.txt"),
    }


def test_commit_infos_match_log_entries(repo: Repository, root: Path) -> None:
    shas = [git(root, "rev-parse", rev).strip() for rev in ("HEAD", "HEAD~1")]
    infos = repo.commit_infos([*shas, shas[0]])
    assert list(infos) == shas
    for sha in shas:
        (_, date, message) = repo.log_entries(sha, max_count=1)[0]
        assert infos[sha] == (date, message)
    missing = "0" * 40
    assert repo.commit_infos([shas[0], missing]) == {shas[0]: infos[shas[0]]}
    assert repo.ls_files(shas[0], under="pkg") == ["pkg/mod.py"]
