"""How many git processes engine.vcs starts, on real repositories: reads of immutable objects
(engine.vcs.memo) ask git once, reads by ref always ask, and the answers equal git's; worktree
removal and leftovers cleaning list and prune once; a log reads in one process."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from engine.errors import GitError
from engine.vcs import Git, GitResult, Repository, RepositoryCore
from engine.vcs.blobs import read_blobs
from engine.vcs.history import first_parent_messages
from engine.vcs.leftovers import clean_leftovers
from engine.vcs.memo import Memo, is_object_id
from engine.vcs.notes import read_note, write_note
from tests.git_testing import BOT, IDENTITY_ENV, git, isolate_git_config, user_git, write


class CountingGit(Git):
    """The real git runner, noting the command (first argument after any ``--git-dir``/
    ``--work-tree``) of every process it starts."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[str] = []

    def call(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> GitResult:
        words = list(args)
        while words and words[0] in ("--git-dir", "--work-tree"):
            words = words[2:]
        self.commands.append(" ".join(words[:2]))
        return super().call(*args, cwd=cwd, input=input, env=env)

    def taken(self) -> list[str]:
        """The commands since the last call, and forget them."""
        out, self.commands = self.commands, []
        return out


@pytest.fixture(autouse=True)
def _isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_config(tmp_path, monkeypatch)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "User")
    git(root, "config", "user.email", "user@example.com")
    write(root, {"a.txt": "one\n", "pkg/mod.py": "x = 1\n", "pkgs/other.py": "y = 2\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture
def counted() -> CountingGit:
    return CountingGit()


@pytest.fixture
def repo(root: Path, counted: CountingGit) -> Repository:
    opened = Repository.open(root, git=counted)
    counted.taken()
    return opened


def commit(root: Path, files: dict[str, str], *, remove: tuple[str, ...] = ()) -> str:
    write(root, files)
    for path in remove:
        (root / path).unlink()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")
    return git(root, "rev-parse", "HEAD").strip()


def test_reads_by_object_id_equal_git_and_ask_it_once(
    repo: Repository, root: Path, counted: CountingGit
) -> None:
    base = git(root, "rev-parse", "HEAD").strip()
    head = commit(root, {"a.txt": "two\n", "new.py": "z = 3\n"}, remove=("pkg/mod.py",))
    plain = RepositoryCore(root)
    for _ in range(3):
        assert repo.ls_files(head) == plain.ls_files(head)
        assert (
            repo.ls_files(base, under="pkg") == plain.ls_files(base, under="pkg") == ["pkg/mod.py"]
        )
        assert repo.changed_files(base, head) == plain.changed_files(base, head)
        assert repo.show_file(base, "a.txt") == "one\n"
        assert repo.show_file(head, "a.txt") == "two\n"
        assert repo.show_file(head, "pkg/mod.py") is None  # absent: known from the listing
    assert sorted(counted.taken()) == [
        "cat-file blob",
        "cat-file blob",
        "diff --name-status",
        "ls-tree -r",
        "ls-tree -r",
    ]


@pytest.mark.parametrize(
    "under",
    ["pkg", "pkg/", "pkgs", "pk", ".", "./pkg", "pkg/..", "pk*", "", "sub", "sub/", "a.txt"],
)
def test_files_under_a_folder_equal_gits(repo: Repository, root: Path, under: str) -> None:
    first = git(root, "rev-parse", "HEAD").strip()
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{first},sub")  # a submodule
    git(root, "commit", "-q", "-m", "sub")
    head = git(root, "rev-parse", "HEAD").strip()
    repo.ls_tree(head)  # the listing remembered
    assert repo.ls_files(head, under=under) == RepositoryCore(root).ls_files(head, under=under)


def test_reads_by_ref_always_ask_git(repo: Repository, root: Path, counted: CountingGit) -> None:
    assert repo.show_file("main", "a.txt") == "one\n"
    assert repo.ls_files("main") == ["a.txt", "pkg/mod.py", "pkgs/other.py"]
    head = commit(root, {"a.txt": "two\n"}, remove=("pkgs/other.py",))
    assert repo.show_file("main", "a.txt") == "two\n"
    assert repo.ls_files("main") == ["a.txt", "pkg/mod.py"]
    assert repo.show_file(head[:12], "a.txt") == "two\n"  # an abbreviated id is not a key
    assert repo.show_file(head[:12], "a.txt") == "two\n"
    assert counted.taken().count("cat-file blob") == 4


@pytest.mark.parametrize("path", ["a.txt", "./a.txt", "pkg/../a.txt", "pkg/", "pkg", "nope"])
def test_a_file_at_a_commit_equals_gits_answer(repo: Repository, root: Path, path: str) -> None:
    head = git(root, "rev-parse", "HEAD").strip()
    repo.ls_tree(head)  # the listing remembered
    assert repo.show_file(head, path) == RepositoryCore(root).show_file(head, path)
    assert repo.show_files([(head, path)]).get((head, path)) == repo.show_file(head, path)


def test_a_failure_is_not_remembered(repo: Repository, root: Path, counted: CountingGit) -> None:
    head = git(root, "rev-parse", "HEAD").strip()
    assert repo.show_file(head, "later.txt") is None  # listing unknown: git is asked each time
    assert repo.show_file(head, "later.txt") is None
    unknown = "0" * 39 + "1"
    assert repo.show_file(unknown, "a.txt") is None
    assert repo.show_file(unknown, "a.txt") is None
    assert counted.taken() == ["cat-file blob"] * 4


def test_show_files_reads_the_rest_in_one_process(
    repo: Repository, root: Path, counted: CountingGit
) -> None:
    base = git(root, "rev-parse", "HEAD").strip()
    head = commit(root, {"a.txt": "two\n"})
    assert repo.show_file(base, "a.txt") == "one\n"
    wanted = [
        (base, "a.txt"),
        (head, "a.txt"),
        (head, "pkg/mod.py"),
        (head, "none"),
        ("main", "a.txt"),
    ]
    assert repo.show_files(wanted) == {
        (base, "a.txt"): "one\n",
        (head, "a.txt"): "two\n",
        (head, "pkg/mod.py"): "x = 1\n",
        ("main", "a.txt"): "two\n",
    }
    assert repo.show_file(head, "pkg/mod.py") == "x = 1\n"
    assert counted.taken() == ["cat-file blob", "cat-file --batch"]


def test_the_common_dir_is_asked_once(repo: Repository, root: Path, counted: CountingGit) -> None:
    assert repo.git_common_dir() == repo.git_common_dir() == root / ".git"
    repo.ensure_excluded()
    assert counted.taken() == ["rev-parse --path-format=absolute"]


@pytest.mark.parametrize(
    ("key", "is_id"),
    [("a" * 40, True), ("b" * 64, True), ("a" * 39, False), ("A" * 40, False), ("main", False)],
)
def test_only_full_object_ids_are_keys(key: str, is_id: bool) -> None:
    assert is_object_id(key) is is_id


def test_memo_forgets_the_least_recently_used_over_its_budget() -> None:
    memo = Memo(budget=10)
    memo.put(("a",), "A", 4)
    memo.put(("b",), "B", 4)
    assert memo.get(("a",)) == (True, "A")  # now the most recent
    memo.put(("c",), "C", 4)
    assert memo.get(("b",)) == (False, None)
    assert memo.get(("a",)) == (True, "A") and memo.get(("c",)) == (True, "C")
    memo.put(("big",), "X", 11)  # alone over the budget: not kept, nothing dropped for it
    assert memo.get(("big",)) == (False, None) and memo.get(("c",)) == (True, "C")


def test_removing_a_worktree_needs_no_list_and_no_prune(
    repo: Repository, counted: CountingGit
) -> None:
    base = repo.rev_parse("main")
    assert base
    wt = repo.add_worktree("g-1", commit=base, branch="ratchet/g/1")
    counted.taken()
    repo.remove_worktree(wt)
    assert counted.taken() == ["worktree remove"]
    assert not wt.exists() and [w.path for w in repo.list_worktrees()] == [repo.root]


def test_a_worktree_git_cannot_remove_is_deleted_and_pruned(
    repo: Repository, counted: CountingGit
) -> None:
    base = repo.rev_parse("main")
    assert base
    wt = repo.add_worktree("g-1", commit=base, branch=None)
    (wt / ".git").write_text("gitdir: /nowhere\n")  # tampered: git refuses to remove it
    counted.taken()
    repo.remove_worktree(wt)
    assert counted.taken() == ["worktree remove", "worktree prune"]
    assert not wt.exists() and [w.path for w in repo.list_worktrees()] == [repo.root]


def test_cleaning_leftovers_lists_and_prunes_once(repo: Repository, counted: CountingGit) -> None:
    base = repo.rev_parse("main")
    assert base
    stale = repo.add_worktree("baseline-1", commit=base, branch=None)
    gone = repo.add_worktree("baseline-2", commit=base, branch=None)
    stray = repo.worktrees_dir / "stray"
    stray.mkdir()
    shutil.rmtree(gone)  # its directory deleted behind git's back: only pruning removes it
    counted.taken()
    found = clean_leftovers(repo, BOT)
    assert not found.errors
    assert set(found.worktrees_removed) == {str(p.resolve()) for p in (stale, gone, stray)}
    taken = counted.taken()
    assert taken.count("worktree list") == 1 and taken.count("worktree prune") == 1
    assert [w.path for w in repo.list_worktrees()] == [repo.root]
    assert list(repo.worktrees_dir.iterdir()) == []


def test_a_log_is_one_process_and_a_missing_rev_gives_nothing(
    repo: Repository, root: Path, counted: CountingGit
) -> None:
    first = git(root, "rev-parse", "HEAD").strip()
    assert [sha for sha, _ in first_parent_messages(repo, "main", 10)] == [first]
    assert [sha for sha, _, _ in repo.log_entries("main")] == [first]
    assert repo.churn("main") == {"a.txt": 1, "pkg/mod.py": 1, "pkgs/other.py": 1}
    assert counted.taken() == ["log --first-parent", "log --no-color", "log --no-color"]
    assert first_parent_messages(repo, "nope", 10) == []
    assert repo.log_entries("refs/heads/nope") == [] and repo.churn("nope") == {}
    assert repo.log_entries(first, grep=("no such words",)) == []
    write(root, {"main": "a file named like the branch\n"})  # git log main is ambiguous
    with pytest.raises(GitError, match="ambiguous argument"):
        repo.log_entries("main")


def test_without_linked_worktrees_cleaning_runs_no_worktree_command(
    repo: Repository, counted: CountingGit
) -> None:
    base = repo.rev_parse("main")
    assert base
    repo.remove_worktree(repo.add_worktree("g-1", commit=base, branch=None))
    assert not (repo.git_common_dir() / "worktrees").exists()  # git removed its records
    counted.taken()
    assert clean_leftovers(repo, BOT).worktrees_removed == ()
    assert repo.linked_worktrees() == [] and repo.prune_stale() == []
    assert not [c for c in counted.taken() if c.startswith("worktree")]


def test_linked_worktrees_leave_the_main_one_out(repo: Repository) -> None:
    base = repo.rev_parse("main")
    assert base
    wt = repo.add_worktree("g-1", commit=base, branch=None)
    assert [w.path for w in repo.linked_worktrees()] == [wt]


def test_a_commit_id_rev_parse_returned_needs_no_git(
    repo: Repository, root: Path, counted: CountingGit
) -> None:
    first = repo.rev_parse("main")
    assert first and repo.rev_parse(first) == first
    git(root, "tag", "-a", "-m", "t", "v1", first)
    tag = git(root, "rev-parse", "v1").strip()  # the annotated tag object's own id
    assert repo.rev_parse(tag) == first  # a tag's id peels to its commit: asked of git
    assert repo.rev_parse(tag) == first
    assert counted.taken() == ["rev-parse --verify"] * 3
    assert repo.rev_parse("0" * 40) is None and repo.rev_parse("0" * 40) is None
    assert counted.taken() == ["rev-parse --verify"] * 2


def test_a_note_replaces_a_fanout_one_keeps_the_rest_in_one_update_index(
    repo: Repository, root: Path, counted: CountingGit, tmp_path: Path
) -> None:
    first = git(root, "rev-parse", "HEAD").strip()
    second = commit(root, {"b.txt": "b\n"})
    old, other = (user_git(root, "hash-object", "-w", "--stdin", input=t).strip() for t in "ab")
    index = {"GIT_INDEX_FILE": str(tmp_path / "index")}  # notes as `git notes` fans them out
    fanout = f"{first[:2]}/{first[2:4]}/{first[4:]}"
    for path, blob in ((fanout, old), (f"{second[:2]}/{second[2:]}", other)):
        user_git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
    tree = user_git(root, "write-tree", env=index).strip()
    notes = user_git(root, "commit-tree", tree, "-m", "notes", env=IDENTITY_ENV).strip()
    git(root, "update-ref", "refs/notes/ratchet", notes)
    counted.taken()
    write_note(repo, first, "new\n")
    assert counted.taken() == [
        "rev-parse --verify",  # the annotated commit
        "hash-object -w",
        "rev-parse --verify",  # the notes ref
        "ls-tree -r",
        "update-index -z",
        "write-tree",
        "commit-tree " + git(root, "rev-parse", "refs/notes/ratchet^{tree}").strip(),
        "update-ref -m",
    ]
    listed = git(root, "ls-tree", "-r", "--name-only", "refs/notes/ratchet").split()
    assert sorted(listed) == sorted([first, f"{second[:2]}/{second[2:]}"])
    assert read_note(repo, first) == "new\n" and read_note(repo, second) == "b"


def test_a_batch_with_a_file_that_is_not_utf8_reads_as_show_file_does(
    repo: Repository, root: Path
) -> None:
    (root / "latin.txt").write_bytes(b"\xe9\n\n")  # one byte replaced by three in the batch
    head = commit(root, {})
    wanted = [(head, "latin.txt"), (head, "a.txt")]
    assert repo.show_files(wanted) == {
        (head, "latin.txt"): "\ufffd\n\n",
        (head, "a.txt"): "one\n",
    }
    assert read_blobs(repo, [f"{head}:latin.txt"]) == {f"{head}:latin.txt": "\ufffd\n\n"}
