"""pytest's rewritten test modules primed from the host cache: real copies, real pytest runs
(``PYTHONDONTWRITEBYTECODE``, as in the sandbox), pytest's own trace saying what it read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from engine.gate.evaluation.rewrites import RewriteCache

TEST_A = """\
def helper():
    return [1, 2]


def test_fails():
    assert helper() == [1, 3]


def test_names_its_own_file():
    assert test_names_its_own_file.__code__.co_filename == __file__
"""
CONFTEST = "import pytest\n\n\n@pytest.fixture\ndef one():\n    return 1\n"
HELPER = "def two():\n    return 2\n"


def project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def pytest_run(work: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip


def pycs(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.pyc"))


def test_primed_pycs_are_read_by_pytest_in_a_copy_elsewhere(tmp_path: Path) -> None:
    files = {"tests/test_a.py": TEST_A, "tests/conftest.py": CONFTEST, "tests/helper.py": HELPER}
    first = project(tmp_path / "first", files)
    cache = RewriteCache(tmp_path / "cache")

    assert cache.prime(first) == 2  # the test module and the conftest, not the helper
    assert len([p for p in (tmp_path / "cache").rglob("*") if p.is_file()]) == 2  # by content
    tag = f"{sys.implementation.cache_tag}-pytest-"
    assert [p.split(".")[0] for p in pycs(first)] == [
        "tests/__pycache__/conftest",
        "tests/__pycache__/test_a",
    ]
    assert all(tag in p for p in pycs(first))

    # a second copy at another path: the code comes from the cache, named after the copy
    second = tmp_path / "second"
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("__pycache__"))
    entries = sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert cache.prime(second) == 2
    assert sorted(p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()) == entries

    run = pytest_run(second)
    trace = run.stdout + run.stderr
    assert f"found cached rewritten pyc for {second / 'tests' / 'test_a.py'}" in trace
    assert f"rewriting {second / 'tests' / 'test_a.py'!r}" not in trace  # pytest's wording
    assert "1 failed, 1 passed" in run.stdout  # co_filename is the copy's own file
    assert "assert [1, 2] == [1, 3]" in run.stdout  # the asserts are rewritten
    assert str(first) not in run.stdout


def test_a_changed_file_is_never_served_stale(tmp_path: Path) -> None:
    cache = RewriteCache(tmp_path / "cache")
    cache.prime(project(tmp_path / "old", {"tests/test_a.py": TEST_A}))
    # the same size, the same second: only the content tells them apart (the cache key)
    fixed = TEST_A.replace("[1, 3]", "[1, 2]")
    work = project(tmp_path / "new", {"tests/test_a.py": fixed})

    assert cache.prime(work) == 1
    assert "2 passed" in pytest_run(work).stdout

    # changed after priming (by the run itself, say): the header no longer matches, pytest
    # rewrites it as it would its own stale pyc
    (work / "tests" / "test_a.py").write_text(TEST_A + "\n")
    run = pytest_run(work)
    assert "1 failed, 1 passed" in run.stdout, run.stdout
    assert f"rewriting {work / 'tests' / 'test_a.py'!r}" in run.stdout + run.stderr


def test_not_primed_where_the_rewrite_would_differ_or_warn(tmp_path: Path) -> None:
    warns = "def test_t():\n    assert (1 == 2, 'always true')\n"
    work = project(tmp_path / "w", {"tests/test_warns.py": warns, "tests/test_a.py": TEST_A})
    cache = RewriteCache(tmp_path / "cache")

    assert cache.prime(work) == 1  # the warning is the run's to give (filterwarnings=error)
    assert [p.split(".")[0] for p in pycs(work)] == ["tests/__pycache__/test_a"]

    hooked = project(tmp_path / "h", {"tests/test_a.py": TEST_A})
    (hooked / "pytest.ini").write_text("[pytest]\nenable_assertion_pass_hook = true\n")
    assert cache.prime(hooked) == 0 and pycs(hooked) == []

    broken = project(tmp_path / "b", {"tests/test_a.py": "def test(:\n"})
    assert cache.prime(broken) == 0
