"""Real git repositories in temp dirs and the real ``ratchet`` CLI as a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.git_testing import user_git

ROOT = Path(__file__).resolve().parents[1]

PYTEST_FIXTURE_COMMAND = (
    "python -m pytest -q -p no:cacheprovider"
    " -p no:hypothesispytest -p no:benchmark -p no:anyio -p no:timeout"
)

CALC = '''\
"""Small arithmetic helpers."""


def add(a, b):
    return a + b


def classify(n):
    if n < 0:
        return "negative"
    else:
        if n == 0:
            return "zero"
        else:
            if n < 10:
                return "small"
            else:
                return "large"
'''

TESTS = """\
from calc.ops import add, classify


def test_add():
    assert add(2, 3) == 5


def test_classify():
    assert classify(-1) == "negative"
    assert classify(0) == "zero"
    assert classify(3) == "small"
    assert classify(30) == "large"
"""

DEFAULT_GOALS: list[dict[str, Any]] = [
    {
        "id": "simplify",
        "description": "Flatten nested branches.",
        "priority": 5,
        "scope": ["calc/**/*.py"],
        "provider": "scripted",
        "max_attempts": 1,
    },
]


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> str:
    """Plain git as a user runs it (``env`` added to the environment); stdout stripped."""
    return user_git(cwd, *args, env=env, input=input).strip()


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout.strip().splitlines()[-1])
        return data


def ratchet(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> Run:
    """The real CLI in a child process; model-provider variables of the caller are dropped
    (tests pass their own through ``env``)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEMINI", "GOOGLE_API", "GOOGLE_GEMINI", "OPENAI"))
    }
    env = {**base, **(env or {}), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def child_python(
    *args: str, timeout: float = 120, minimal_env: bool = False
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter on this checkout (``python ARGS`` from the repository root, this
    checkout first on the path); ``minimal_env`` drops the caller's environment but PATH."""
    base = {"PATH": "/usr/bin:/bin"} if minimal_env else dict(os.environ)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**base, "PYTHONPATH": str(ROOT)},
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
    return path


def make_repo(
    root: Path,
    *,
    goals: list[dict[str, Any]] | None = None,
    directives: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    rules: str | None = None,
) -> Path:
    """A user's repository: a tiny package with tests, ratchet configured, one commit."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "user@example.invalid")
    write(root / "calc" / "__init__.py", "")
    write(root / "calc" / "ops.py", CALC)
    write(root / "tests" / "test_ops.py", TESTS)
    for rel, text in (files or {}).items():
        write(root / rel, text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    init = ratchet("init", "--repo", str(root))
    assert init.code == 0, init.stderr
    write(
        root / "goals.yaml",
        yaml.safe_dump({"version": 1, "goals": goals or DEFAULT_GOALS}, sort_keys=False),
    )
    base = {
        "version": 1,
        # Plugins that happen to be installed on the machine (hypothesis, pytest-benchmark,
        # anyio, pytest-timeout) are not loaded by the fixture projects: ~1 s per sandboxed
        # pytest start, paid several times per cycle. Projects of our own tests that need
        # plugins set their own test_command.
        "test_command": PYTEST_FIXTURE_COMMAND,
        "timeouts": {"tests": 120},
    }
    base.update(directives or {})
    write(root / "directives.yaml", yaml.safe_dump(base, sort_keys=False, width=1000))
    if rules is not None:
        write(root / "rules" / "default.yaml", rules)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "configure ratchet")
    return root


def plan_file(path: Path, summary: str, edits: list[dict[str, Any]]) -> Path:
    return write(path, yaml.safe_dump({"summary": summary, "edits": edits}, sort_keys=False))


FLAT_CLASSIFY = """\
def classify(n):
    if n == 0:
        return "zero"
    return ("negative", "small", "large")[(n > 0) + (n >= 10)]
"""

BROKEN_CLASSIFY = """\
def classify(n):
    return "small"
"""

# A second simplifiable function (cyclomatic complexity 3 -> 1), for runs of more than one
# candidate; put it in its own module with its own test.
SIGN = """\
def sign(n):
    if n < 0:
        return -1
    else:
        if n == 0:
            return 0
        else:
            return 1
"""

FLAT_SIGN = """\
def sign(n):
    return (n > 0) - (n < 0)
"""


def snapshot_of_user_state(repo: Path) -> dict[str, str]:
    """Every file of the user's working tree (outside .git and .ratchet) plus the index,
    HEAD and the status, as hashes: 'byte-identical' made checkable."""
    state: dict[str, str] = {}
    # .git and .ratchet are pruned before descending, not filtered after: a killed run's
    # orphaned git child may still be removing .git/worktrees while this walks.
    for root, dirs, files in os.walk(repo):
        if Path(root) == repo:
            dirs[:] = [d for d in dirs if d != ".git" and not d.startswith(".ratchet")]
        for name in files:
            path = Path(root) / name
            rel = path.relative_to(repo).as_posix()
            if rel.startswith(".ratchet"):
                continue
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    state = dict(sorted(state.items()))
    state[".git/index"] = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    state["HEAD"] = (repo / ".git" / "HEAD").read_text()
    state["status"] = git(repo, "status", "--porcelain", "--untracked-files=all")
    return state


ADDOPTS_CALC = """\
def add(a, b):
    return a + b


def unused(a):
    if a:
        return 1
    return 2
"""
ADDOPTS_TESTS = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def addopts_project(root: Path, addopts: str) -> Path:
    """``root/repo``: one module (``pkg/calc.py``: 6 statements, 3 run by its one test),
    one test, and ``addopts`` in ``[tool.pytest.ini_options]``; committed, not configured
    for ratchet (for probes run on a project's own pytest configuration)."""
    from tests.git_testing import IDENTITY_ENV

    files = {
        "pkg/__init__.py": "",
        "pkg/calc.py": ADDOPTS_CALC,
        "tests/test_calc.py": ADDOPTS_TESTS,
        "pyproject.toml": f'[tool.pytest.ini_options]\naddopts = "{addopts}"\n',
    }
    repo = root / "repo"
    for rel, text in files.items():
        write(repo / rel, text)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init", env=IDENTITY_ENV)
    return repo
