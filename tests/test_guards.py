"""The static guards as data: (path, before, after) -> which guard fires (or none)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.gate.guards import GUARD_IDS, run_guards
from engine.gate.guards.assertions import find_changed, find_deleted, find_weakened
from engine.gate.guards.base import FileVersion, Finding, GuardSpec, outcome
from engine.gate.guards.markers import find_exits, find_pragmas, find_skips, find_suppressions
from engine.gate.guards.security import find_risky
from engine.gate.guards.tampering import (
    find_runner_tampering,
    find_shadowing,
    find_test_path_imports,
)
from engine.model import ChangeFacts, Directives, Metrics, SecurityMetrics, TestMetrics
from engine.vcs import Repository
from tests.repo_helpers import git, write

BASE_FILES = ["calc/__init__.py", "calc/ops.py", "tests/test_ops.py"]


def version(
    path: str, old: str | None, new: str | None, status: str = "M", old_path: str | None = None
) -> FileVersion:
    def clean(text: str | None) -> str | None:
        return None if text is None else textwrap.dedent(text).lstrip("\n")

    if old is None:
        status = "A"
    if new is None:
        status = "D"
    return FileVersion(path=path, status=status, old_path=old_path, old=clean(old), new=clean(new))


def fired(files: list[FileVersion]) -> set[str]:
    """Every guard id with at least one finding for ``files``."""
    finders: list[Callable[[list[FileVersion]], list[Finding]]] = [
        find_deleted, find_weakened, find_changed, find_skips, find_exits, find_pragmas,
        find_suppressions, find_runner_tampering, find_test_path_imports,
        lambda fs: find_shadowing(fs, BASE_FILES),
        lambda fs: [f for found in find_risky(fs).values() for f in found],
    ]  # fmt: skip
    return {f.guard for finder in finders for f in finder(files)}


TEST_ADD = """
def test_add():
    assert add(2, 3) == 5
    assert add(0, 0) == 0
"""

TEST_CASES = [
    # ---- tests deleted, renamed away, shadowed
    (
        "delete-test",
        TEST_ADD + "\ndef test_b():\n    assert b() == 1\n",
        TEST_ADD,
        "guard-tests-deleted",
    ),
    ("rename-test", TEST_ADD, TEST_ADD.replace("test_add", "check_add"), "guard-tests-deleted"),
    (
        "shadow-test",
        TEST_ADD,
        TEST_ADD + "\ndef test_add():\n    assert add(1, 1) == 2\n",
        "guard-tests-deleted",
    ),
    (
        "class-renamed",
        "class TestOps:\n    def test_a(self):\n        assert a() == 1\n",
        "class Ops:\n    def test_a(self):\n        assert a() == 1\n",
        "guard-tests-deleted",
    ),
    # ---- assertions weakened
    ("eq-to-truthy", TEST_ADD, TEST_ADD.replace("== 5", ""), "guard-assertions-weakened"),
    (
        "fewer-asserts",
        TEST_ADD,
        "def test_add():\n    assert add(2, 3) == 5\n",
        "guard-assertions-weakened",
    ),
    ("assert-true", TEST_ADD, TEST_ADD + "    assert True\n", "guard-assertions-weakened"),
    ("pass-body", TEST_ADD, "def test_add():\n    pass\n", "guard-assertions-weakened"),
    (
        "x-eq-x",
        TEST_ADD,
        TEST_ADD.replace("add(0, 0) == 0", "add(0, 0) == add(0, 0)"),
        "guard-assertions-weakened",
    ),
    ("or-true", TEST_ADD, TEST_ADD.replace("== 0", "== 0 or True"), "guard-assertions-weakened"),
    (
        "swallowed",
        TEST_ADD,
        "def test_add():\n    try:\n        assert add(2, 3) == 5\n        assert add(0, 0) == 0\n"
        "    except AssertionError:\n        pass\n",
        "guard-assertions-weakened",
    ),
    (
        "suppress",
        TEST_ADD,
        "import contextlib\n\n\ndef test_add():\n    with contextlib.suppress(Exception):\n"
        "        assert add(2, 3) == 5\n        assert add(0, 0) == 0\n",
        "guard-assertions-weakened",
    ),
    (
        "assertEqual-to-assertTrue",
        "def test_a(self):\n    self.assertEqual(a(), 1)\n",
        "def test_a(self):\n    self.assertTrue(a())\n",
        "guard-assertions-weakened",
    ),
    (
        "new-empty-test",
        TEST_ADD,
        TEST_ADD + "\n\ndef test_nothing():\n    pass\n",
        "guard-assertions-weakened",
    ),
    # ---- an existing check rewritten (same count: review)
    ("expected-value", TEST_ADD, TEST_ADD.replace("== 5", "== 6"), "guard-assertions-changed"),
    (
        "xfail-dropped-and-inverted",
        "import pytest\n\n\n@pytest.mark.xfail(strict=True)\ndef test_neg():\n"
        "    assert neg(2) == -2\n",
        "import pytest\n\n\ndef test_neg():\n    assert neg(2) == 2\n",
        "guard-assertions-changed",
    ),
    (
        "raises-swapped",
        "import pytest\n\n\ndef test_bad():\n    with pytest.raises(ValueError):\n"
        "        parse('x')\n",
        "import pytest\n\n\ndef test_bad():\n    with pytest.raises(Exception):\n"
        "        parse('x')\n",
        "guard-assertions-changed",
    ),
    # ---- skips and hiding
    (
        "skip-mark",
        TEST_ADD,
        "import pytest\n\n\n@pytest.mark.skip\n" + TEST_ADD.lstrip(),
        "guard-tests-skipped",
    ),
    (
        "skip-alias",
        TEST_ADD,
        "from pytest import mark\n\n\n@mark.xfail\n" + TEST_ADD.lstrip(),
        "guard-tests-skipped",
    ),
    (
        "skip-call",
        TEST_ADD,
        "import pytest\n"
        + TEST_ADD.replace("    assert add(2", "    pytest.skip('later')\n    assert add(2"),
        "guard-tests-skipped",
    ),
    (
        "pytestmark",
        TEST_ADD,
        "import pytest\npytestmark = pytest.mark.skip\n" + TEST_ADD,
        "guard-tests-skipped",
    ),
    ("dunder-test", TEST_ADD, "__test__ = False\n" + TEST_ADD, "guard-tests-skipped"),
    (
        "unittest-skip",
        "import unittest\n" + TEST_ADD,
        "import unittest\n\n\n@unittest.skip('x')\n" + TEST_ADD.lstrip(),
        "guard-tests-skipped",
    ),
    # ---- ending the run
    (
        "pytest-exit",
        TEST_ADD,
        "import pytest\n" + TEST_ADD + "    pytest.exit('bye', 0)\n",
        "guard-test-exit",
    ),
    ("sys-exit", TEST_ADD, "import sys\n" + TEST_ADD + "    sys.exit(0)\n", "guard-test-exit"),
    ("os-exit", TEST_ADD, "import os\n" + TEST_ADD + "    os._exit(0)\n", "guard-test-exit"),
    # ---- the runner itself
    ("import-_pytest", TEST_ADD, "import _pytest.runner\n" + TEST_ADD, "guard-runner-tampering"),
    (
        "hook",
        TEST_ADD,
        TEST_ADD + "\n\ndef pytest_runtest_makereport(item, call):\n    pass\n",
        "guard-runner-tampering",
    ),
    ("plugins", TEST_ADD, "pytest_plugins = ['evil']\n" + TEST_ADD, "guard-runner-tampering"),
    (
        "sys-modules",
        TEST_ADD,
        "import sys\nsys.modules['pytest'] = None\n" + TEST_ADD,
        "guard-runner-tampering",
    ),
    ("settrace", TEST_ADD, "import sys\nsys.settrace(None)\n" + TEST_ADD, "guard-runner-tampering"),
    (
        "monkeypatch-str",
        TEST_ADD,
        TEST_ADD + "\n\ndef test_m(monkeypatch):\n    monkeypatch.setattr('_pytest.x', 1)\n"
        "    assert 1 == 1\n",
        "guard-runner-tampering",
    ),
    (
        "atexit",
        TEST_ADD,
        "import atexit\natexit.register(print)\n" + TEST_ADD,
        "guard-runner-tampering",
    ),
    ("argv", TEST_ADD, "import sys\nREPORT = sys.argv[-1]\n" + TEST_ADD, "guard-runner-tampering"),
    # ---- comments
    (
        "pragma",
        TEST_ADD,
        TEST_ADD.replace("def test_add():", "def test_add():  # pragma: no cover"),
        "guard-coverage-pragma",
    ),
    ("noqa", TEST_ADD, "import os  # noqa: F401\n" + TEST_ADD, "guard-suppression"),
]

SOURCE = '''
"""Ops."""
import subprocess


def run(cmd):
    return subprocess.run(cmd, check=True)
'''

SOURCE_CASES = [
    ("unchanged-move", SOURCE, SOURCE + "\n\ndef other():\n    return 1\n", None),
    (
        "docstring-mentions",
        SOURCE,
        SOURCE.replace('"""Ops."""', '"""Ops in /tmp and .git."""'),
        None,
    ),
    ("eval", SOURCE, SOURCE + "\nX = eval('1')\n", "guard-security-exec"),
    ("shell-true", SOURCE, SOURCE.replace("check=True", "shell=True"), "guard-security-shell"),
    (
        "os-system-alias",
        SOURCE,
        "from os import system as s\n" + SOURCE + "\ns('ls')\n",
        "guard-security-shell",
    ),
    ("socket", SOURCE, "import socket\n" + SOURCE, "guard-security-network"),
    ("urllib", SOURCE, "import urllib.request\n" + SOURCE, "guard-security-network"),
    (
        "tmp-write",
        SOURCE,
        SOURCE + "\nopen('/tmp/x', 'w').write('1')\n",
        "guard-security-filesystem",
    ),
    (
        "home",
        SOURCE,
        "from pathlib import Path\n" + SOURCE + "\nH = Path.home()\n",
        "guard-security-filesystem",
    ),
    (
        "expanduser",
        SOURCE,
        "import os\n" + SOURCE + "\nH = os.path.expanduser('~')\n",
        "guard-security-filesystem",
    ),
    ("dotdot", SOURCE, SOURCE + "\nopen('../../x', 'w')\n", "guard-security-filesystem"),
    (
        "symlink",
        SOURCE,
        "import os\n" + SOURCE + "\nos.symlink('a', 'b')\n",
        "guard-security-filesystem",
    ),
    ("git-hooks", SOURCE, SOURCE + "\nHOOK = '.git/hooks/pre-commit'\n", "guard-security-git"),
    (
        "git-command",
        SOURCE,
        SOURCE + "\nsubprocess.run(['git', 'config', 'a', 'b'])\n",
        "guard-security-git",
    ),
    ("ctypes", SOURCE, "import ctypes\n" + SOURCE, "guard-security-native"),
    ("dunder-import", SOURCE, SOURCE + "\nos = __import__('os')\n", "guard-security-dynamic"),
    (
        "globals-getattr",
        SOURCE,
        SOURCE + "\ng = getattr(run, '__globals__')\n",
        "guard-security-dynamic",
    ),
    ("fork", SOURCE, "import os\n" + SOURCE + "\nos.fork()\n", "guard-security-process"),
    (
        "kill-parent",
        SOURCE,
        "import os\n" + SOURCE + "\nos.kill(os.getppid(), 9)\n",
        "guard-security-process",
    ),
    (
        "test-path-import",
        SOURCE,
        "from tests.helpers import fake\n" + SOURCE,
        "guard-test-path-import",
    ),
    (
        "relative-test-import",
        SOURCE,
        "from .test_impl import f\n" + SOURCE,
        "guard-test-path-import",
    ),
    ("nosec", SOURCE, SOURCE.replace("check=True)", "check=True)  # nosec"), "guard-suppression"),
    ("os-exit-source", SOURCE, "import os\n" + SOURCE + "\nos._exit(0)\n", "guard-test-exit"),
    (
        "sys-exit-source-ok",
        SOURCE,
        "import sys\n" + SOURCE + "\n\ndef main():\n    sys.exit(0)\n",
        None,
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "expected"), [c[1:] for c in TEST_CASES], ids=[c[0] for c in TEST_CASES]
)
def test_test_file_guards(before: str, after: str, expected: str) -> None:
    result = fired([version("tests/test_ops.py", before, after)])
    assert expected in result, result


@pytest.mark.parametrize(
    ("before", "after", "expected"), [c[1:] for c in SOURCE_CASES], ids=[c[0] for c in SOURCE_CASES]
)
def test_source_guards(before: str, after: str, expected: str | None) -> None:
    result = fired([version("calc/ops.py", before, after)])
    assert result == ({expected} if expected else set())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (  # the same strength, but a rewritten expectation: a human looks
            version("tests/test_ops.py", TEST_ADD, TEST_ADD.replace("== 5", "== 2 + 3")),
            {"guard-assertions-changed"},
        ),
        (  # a check only added: stricter, nothing to review
            version("tests/test_ops.py", TEST_ADD, TEST_ADD + "    assert add(1, 1) == 2\n"),
            set(),
        ),
        (
            version(
                "tests/test_ops.py",
                TEST_ADD,
                TEST_ADD + "\n\ndef test_more():\n    assert add(1, 1) == 2\n",
            ),
            set(),
        ),
        (version("tests/test_ops.py", TEST_ADD, None), {"guard-tests-deleted"}),
        (
            version(
                "calc/check_ops.py", TEST_ADD, TEST_ADD, status="R", old_path="tests/test_ops.py"
            ),
            {"guard-tests-deleted"},
        ),
        (version("tests/test_new.py", None, TEST_ADD), set()),
        (version("pytest.py", None, "X = 1\n"), {"guard-shadowing"}),
        (version("coverage/__init__.py", None, "X = 1\n"), {"guard-shadowing"}),
        (version("json.py", None, "X = 1\n"), {"guard-shadowing"}),
        (version("calc/json.py", None, "X = 1\n"), set()),
        (version("evil.pth", None, "import os\n"), {"guard-shadowing"}),
        (version("src/json.py", None, "X = 1\n"), {"guard-shadowing"}),  # src/ is a root
        (version("src/calc/json.py", None, "X = 1\n"), set()),
    ],
    ids=[
        "reworded-same-strength",
        "check-added",
        "test-added",
        "file-deleted",
        "moved-to-non-test",
        "new-test-file",
        "pytest-py",
        "coverage-pkg",
        "stdlib-name",
        "nested-stdlib-name-ok",
        "pth",
        "src-layout-stdlib-name",
        "src-layout-nested-ok",
    ],
)
def test_file_level_cases(change: FileVersion, expected: set[str]) -> None:
    assert fired([change]) == expected


def test_findings_carry_the_evidence() -> None:
    [finding] = find_weakened(
        [version("tests/test_ops.py", TEST_ADD, TEST_ADD.replace("== 5", ""))]
    )
    data = finding.to_data()
    assert data["file"] == "tests/test_ops.py" and data["line"] == 1
    assert "exact comparisons 2 -> 1" in data["evidence"]
    assert "add(2, 3) == 5" in data["before"] and "assert add(2, 3) /" in data["after"]


@pytest.mark.parametrize(
    ("findings", "allow", "passed", "detail"),
    [
        ([], (), True, "ok: no x"),
        (
            [Finding(guard="guard-x", file="a.py", line=3, evidence="bad")],
            (),
            False,
            "violated: no x: a.py:3: bad",
        ),
        (
            [Finding(guard="guard-x", file="a.py", line=3, evidence="bad")],
            ("guard-x",),
            True,
            "allowed by the goal: no x: a.py:3: bad",
        ),
    ],
)
def test_outcome_and_allow(
    findings: list[Finding], allow: tuple[str, ...], passed: bool, detail: str
) -> None:
    result = outcome(GuardSpec(id="guard-x", requirement="no x"), findings, allow)
    assert (result.passed, result.detail) == (passed, detail)
    assert result.values["count"] == len(findings)


def test_run_guards_on_a_real_repository(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "T")
    git(root, "config", "user.email", "t@example.invalid")
    write(root / "calc" / "ops.py", "def add(a, b):\n    return a + b\n")
    write(root / "tests" / "test_ops.py", "from calc.ops import add\n" + TEST_ADD)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    base = git(root, "rev-parse", "HEAD")
    write(
        root / "tests" / "test_ops.py", "from calc.ops import add\n" + TEST_ADD.replace("== 5", "")
    )
    write(root / "calc" / "ops.py", "import socket\n\n\ndef add(a, b):\n    return a + b\n")
    git(root, "commit", "-qam", "candidate")
    head = git(root, "rev-parse", "HEAD")
    baseline = Metrics(
        tests=TestMetrics(passed=1, collected=1), security=SecurityMetrics(findings=0, by_test={})
    )
    candidate = Metrics(
        tests=TestMetrics(passed=1, collected=1, tampered=("modified: a.py",)),
        security=SecurityMetrics(findings=1, by_test={"B404": 1}),
    )
    outcomes = run_guards(
        Repository.open(root),
        base,
        head,
        baseline,
        candidate,
        ChangeFacts(files=("calc/ops.py", "tests/test_ops.py")),
        Directives(),
        allow=("guard-security-bandit",),
    )
    failed = {o.id for o in outcomes if not o.passed}
    assert failed == {
        "guard-assertions-weakened",
        "guard-security-network",
        "guard-worktree-tampered",
    }
    assert {o.id for o in outcomes} | {"guard-quarantine"} == set(GUARD_IDS)
    bandit = next(o for o in outcomes if o.id == "guard-security-bandit")
    assert bandit.passed and bandit.detail.startswith("allowed by the goal")
