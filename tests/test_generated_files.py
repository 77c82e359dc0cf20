"""The build's ignored files (a setuptools-scm / hatch-vcs version file) carried into the
checkouts ratchet measures: what pyproject.toml declares, what git ignores, end to end
through the CLI on a real repository whose package imports its version file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from engine.gate.evaluation.generated import Generated, declared, find_generated
from engine.vcs import Repository
from tests.repo_helpers import FLAT_CLASSIFY, git, make_repo, plan_file, ratchet, write

HATCH = '[tool.hatch.build.hooks.vcs]\nversion-file = "calc/_version.py"\n'


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        (HATCH, ["calc/_version.py"]),
        ('[tool.setuptools_scm]\nversion_file = "src/p/_v.py"\n', ["src/p/_v.py"]),
        ('[tool.setuptools_scm]\nwrite_to = "p/version.py"\n', ["p/version.py"]),
        (
            '[tool.hatch.build.targets.wheel.hooks.vcs]\nversion-file = "p/_version.py"\n',
            ["p/_version.py"],
        ),
        ('[tool.setuptools_scm]\nversion_file = "../outside.py"\n', []),  # not carried
        ('[tool.setuptools_scm]\nversion_file = "/etc/passwd"\n', []),
        ("[tool.setuptools_scm]\n", []),
        ("not toml [", []),
    ],
)
def test_the_version_files_a_build_declares(tmp_path: Path, text: str, paths: list[str]) -> None:
    write(tmp_path / "pyproject.toml", text)
    assert declared(tmp_path) == paths


PDM = '[tool.pdm.version]\nsource = "scm"\nwrite_to = "p/_version.py"\n'


@pytest.mark.parametrize(
    ("text", "src", "paths"),
    [
        (PDM, False, ["p/_version.py"]),
        (PDM, True, ["src/p/_version.py"]),  # pdm's package-dir defaults to src/ when it exists
        (PDM + '[tool.pdm.build]\npackage-dir = "lib"\n', True, ["lib/p/_version.py"]),
        (PDM + '[tool.pdm.build]\npackage-dir = "."\n', True, ["p/_version.py"]),
        ('[tool.pdm.version]\nsource = "scm"\nwrite_to = "../x.py"\n', False, []),
    ],
)
def test_a_pdm_build_declares_its_version_file_under_its_package_dir(
    tmp_path: Path, text: str, src: bool, paths: list[str]
) -> None:
    write(tmp_path / "pyproject.toml", text)
    if src:
        (tmp_path / "src").mkdir()
    assert declared(tmp_path) == paths


def test_a_setup_py_that_uses_setuptools_scm_declares_its_version_file(tmp_path: Path) -> None:
    write(
        tmp_path / "setup.py",
        "from setuptools import setup\n\nsetup(\n    name='p',\n"
        "    use_scm_version={'write_to': 'p/_version.py', 'local_scheme': 'no-local'},\n)\n",
    )
    assert declared(tmp_path) == ["p/_version.py"]
    write(tmp_path / "setup.py", "setup(write_to='p/v.py')\n")  # no setuptools-scm: nothing
    assert declared(tmp_path) == []


def test_only_an_ignored_file_of_the_working_tree_is_carried(tmp_path: Path) -> None:
    """Ignored: carried, and written only where a checkout lacks it; not ignored (it would
    be committed by ``git add -A``): not carried; absent: said to be missing."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo / "pyproject.toml", HATCH + '[tool.setuptools_scm]\nwrite_to = "calc/v2.py"\n')
    write(repo / ".gitignore", "calc/_version.py\n")
    write(repo / "calc" / "_version.py", "version = '1.2.3'\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "project")
    write(repo / "calc" / "v2.py", "version = '9'\n")  # untracked, not ignored
    found = find_generated(repo, Repository.open(repo).ignored)
    assert found.files == (("calc/_version.py", b"version = '1.2.3'\n"),)
    assert found.digest() and Generated().digest() == ""
    checkout = tmp_path / "checkout"
    write(checkout / "calc" / "keep.py", "")
    found.write_into(checkout)
    assert (checkout / "calc" / "_version.py").read_text() == "version = '1.2.3'\n"
    write(checkout / "calc" / "_version.py", "version = 'committed'\n")
    found.write_into(checkout)
    assert (checkout / "calc" / "_version.py").read_text() == "version = 'committed'\n"
    asked: list[list[str]] = []

    def counted(paths: Iterable[str]) -> set[str]:
        asked.append(list(paths))
        return Repository.open(repo).ignored(asked[-1])

    assert find_generated(repo, counted) == find_generated(repo, counted) == found
    assert asked == []  # every cache key asks: an unchanged tree runs no git again
    (repo / "calc" / "_version.py").unlink()
    gone = find_generated(repo, Repository.open(repo).ignored)
    assert gone.files == () and gone.missing == ("calc/_version.py",)
    assert gone.lacking(["calc/_version.py"]) == ()  # committed after all: nothing to say
    assert "pip install -e ." in gone.lacking([])[0]


PACKAGE = {
    "pyproject.toml": HATCH,
    ".gitignore": "calc/_version.py\n",
    "calc/__init__.py": "from calc._version import version\n",
    "tests/test_version.py": "from calc import version\n\n\ndef test_version():\n"
    "    assert version == '1.2.3'\n",
}
GOAL = {
    "id": "tidy",
    "description": "Tidy the package.",
    "scope": ["calc/**/*.py"],
    "provider": "scripted",
    "max_attempts": 1,
}


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_package_that_imports_its_build_written_version_file_is_measured(
    tmp_path: Path,
) -> None:
    """humanize 4.17.0's shape: the package imports a version file hatch-vcs writes and git
    ignores. Not built yet: the broken baseline says which file and how to make it. Built
    (the file in the working tree): the cycle measures and merges; the user's file is
    left as it was and no commit holds it."""
    repo = make_repo(
        tmp_path / "repo", goals=[GOAL], directives={"target_branch": "main"}, files=PACKAGE
    )
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    argv = ("run-once", "--repo", str(repo), "--goal", "tidy", "--plan", str(plan), "--json")
    first = ratchet(*argv)
    assert first.code == 0, first.stderr
    assert first.json["outcome"] == "broken-baseline", first.json
    message = first.json["message"]
    assert "calc/_version.py is written by the project's build" in message
    assert "pip install -e ." in message
    write(repo / "calc" / "_version.py", "version = '1.2.3'\n")  # what a build writes
    second = ratchet(*argv)
    assert second.code == 0, second.stderr
    assert second.json["outcome"] == "merged", second.json["message"]
    assert second.json["baseline"]["tests"]["passed"] == 3
    assert (repo / "calc" / "_version.py").read_text() == "version = '1.2.3'\n"
    assert "calc/_version.py" not in git(repo, "ls-tree", "-r", "--name-only", "main")
    assert git(repo, "status", "--porcelain") == ""  # ignored, as before; nothing else
