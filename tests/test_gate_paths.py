"""engine.gate.paths: path safety, protected paths, scope globs, as tables."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.gate.paths import (
    BUILTIN_PROTECTED,
    check_path,
    in_scope,
    is_protected,
    is_test_file,
    matches,
)

REFUSED = [
    ("", "empty"),
    ("../x.py", "'..'"),
    ("a/../../b", "'..'"),
    ("a/..", "'..'"),
    ("/etc/passwd", "absolute"),
    ("C:\\x", "backslash"),
    ("C:/x.py", "absolute"),
    ("c:x.py", "absolute"),
    (".git/hooks/pre-commit", ".git"),
    ("sub/.git/config", ".git"),
    (".GIT/config", ".git"),
    ("a\\b.py", "backslash"),
    ("./a.py", "not normalised"),
    ("a//b.py", "not normalised"),
    ("a/./b.py", "not normalised"),
    ("pkg/", "not normalised"),
    ("a\x00.py", "control"),
    ("a\nb.py", "control"),
    ("a\x7f.py", "control"),
]


@pytest.mark.parametrize(("path", "why"), REFUSED)
def test_check_path_refuses(path: str, why: str) -> None:
    reason = check_path(path)
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize(
    "path",
    ["a.py", "engine/cli.py", ".github-notes.md", "x.git/y.py", "my.git", "..a.py", "a..b/c.py"],
)
def test_check_path_accepts(path: str) -> None:
    assert check_path(path) is None


GLOBS = [
    ("src/**/*.py", "src/a.py", True),
    ("src/**/*.py", "src/x/y/a.py", True),
    ("src/**/*.py", "src/a.txt", False),
    ("src/**/*.py", "other/src/a.py", False),
    ("src/*.py", "src/x/a.py", False),
    ("*.py", "a.py", True),
    ("*.py", "pkg/a.py", False),
    ("**/*.py", "a.py", True),
    ("**/*.py", "pkg/deep/a.py", True),
    ("**", "anything/at/all", True),
    ("rules/**", "rules/default.yaml", True),
    ("rules/**", "rules/sub/x.yaml", True),
    ("rules/**", "rules", False),
    ("rules/**", "rules.yaml", False),
    ("docs/", "docs/index.md", True),
    ("/setup.cfg", "setup.cfg", True),
    ("a?.py", "ab.py", True),
    ("a?.py", "a/.py", False),
    ("[ab].py", "b.py", True),
    ("[!ab].py", "b.py", False),
    ("[!ab].py", "c.py", True),
    ("a.py", "aXpy", False),
    ("engine/**/test_*.py", "engine/x/test_a.py", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), GLOBS)
def test_matches(pattern: str, path: str, expected: bool) -> None:
    assert matches(path, [pattern]) is expected


PROTECTED = [
    ("goals.yaml", True),
    ("directives.yaml", True),
    ("rules/default.yaml", True),
    ("memory-bank/progress.md", True),
    ("snapshots/2024/x.json", True),
    (".ci/run", True),
    (".github/workflows/ci.yml", True),
    ("conftest.py", True),
    ("tests/conftest.py", True),
    ("a/b/conftest.py", True),
    ("pytest.ini", True),
    ("pytest.toml", True),  # pytest 9: read before every other configuration file
    (".pytest.toml", True),
    (".pytest.ini", True),
    ("tox.ini", True),
    ("setup.cfg", True),
    ("pyproject.toml", True),
    (".coveragerc", True),
    (".ratchet/state.json", True),
    (".gitmodules", True),
    (".gitattributes", True),
    ("engine/gate/policy/rules.py", True),
    ("engine/gate/evaluation/runner.py", True),
    ("engine/patching/plan.py", False),
    ("sub/goals.yaml", False),
    ("sub/pyproject.toml", False),
    ("tests/test_x.py", False),
    ("rulesets.py", False),
    ("my_conftest.py", False),
]


@pytest.mark.parametrize(("path", "expected"), PROTECTED)
def test_is_protected_builtin(path: str, expected: bool) -> None:
    assert is_protected(path) is expected


def test_is_protected_extra_patterns() -> None:
    assert not is_protected("vendor/lib.py")
    assert is_protected("vendor/lib.py", ["vendor/**"])
    assert is_protected("goals.yaml", ["vendor/**"])


def test_builtin_list_is_the_documented_one() -> None:
    assert "pyproject.toml" in BUILTIN_PROTECTED
    assert "**/conftest.py" in BUILTIN_PROTECTED


TESTS = [
    ("tests/test_a.py", True),
    ("tests/helpers/data.json", True),
    ("pkg/tests/util.py", True),
    ("test_a.py", True),
    ("pkg/test_a.py", True),
    ("pkg/a_test.py", True),
    ("pkg/a.py", False),
    ("testing.py", False),
    ("contest_x.py", False),
]


@pytest.mark.parametrize(("path", "expected"), TESTS)
def test_is_test_file(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


SCOPES = [
    ((), "engine/a.py", True),
    ((), "README.md", False),
    ((), "conftest.py", False),
    ((), "engine/gate/policy/x.py", False),
    (("engine/**/*.py",), "engine/a.py", True),
    (("engine/**/*.py",), "tests/a.py", False),
    (("engine/cli.py", "tests/**"), "tests/test_cli.py", True),
    (("docs/**",), "docs/x.md", True),
]


@pytest.mark.parametrize(("scope", "path", "expected"), SCOPES)
def test_in_scope(scope: tuple[str, ...], path: str, expected: bool) -> None:
    assert in_scope(path, scope) is expected


def test_path_policy_and_plan_files_do_not_import_libcst() -> None:
    """The CLI and config layers use these; importing LibCST costs about a second."""
    code = (
        "import sys, engine.gate.paths, engine.patching.planfile; "
        "assert 'libcst' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
