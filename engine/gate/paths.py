"""Path policy for edit plans: which repository paths an edit may name and touch.

Pure functions over repository-relative POSIX paths; nothing here reads the disk.

Glob patterns are anchored at the repository root and follow git's ``**`` rules:

- ``*`` and ``?`` and ``[abc]`` / ``[!abc]`` match within one path component;
- a whole ``**`` component matches zero or more directories (``src/**/*.py``
  matches ``src/a.py`` and ``src/x/y/a.py``; ``**/conftest.py`` matches at any depth);
- a trailing ``/**`` matches everything inside a directory (``rules/**``);
- a trailing ``/`` is shorthand for ``/**`` (``docs/`` == ``docs/**``);
- a pattern without ``/`` matches at the root only (``conftest.py`` is not
  ``sub/conftest.py``; write ``**/conftest.py`` for that).

Matching is case-sensitive, except that a ``.git`` component is refused in any case
(``.GIT`` is the same directory on case-insensitive file systems).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from engine.gate.boundary import GATE
from engine.records.layout import STATE_DIR

if TYPE_CHECKING:
    from engine.model import Goal

# The objective, and the gate itself. ``pyproject.toml`` is protected whole: it holds the
# test configuration (pytest options, coverage settings), and telling a harmless
# dependency bump from a weakened test setup is not worth the risk; the same goes for the
# other files that decide how the project is built and tested (``setup.py`` with its entry
# points, ``noxfile.py``, ``Makefile``). The gate's own code
# comes from one declared list (``engine.gate.boundary.GATE``).
BUILTIN_PROTECTED: tuple[str, ...] = (
    "goals.yaml",
    "directives.yaml",
    "rules/**",
    "memory-bank/**",
    "snapshots/**",
    ".ci/**",
    ".github/**",
    "conftest.py",
    "**/conftest.py",
    "pytest.ini",
    ".pytest.ini",
    "pytest.toml",
    ".pytest.toml",
    "tox.ini",
    "noxfile.py",
    "Makefile",
    "setup.py",
    "setup.cfg",
    "pyproject.toml",
    ".coveragerc",
    f"{STATE_DIR}/**",
    ".git/**",
    ".gitmodules",
    ".gitattributes",
    *GATE,
)

# Test files — the one definition, used by patching, evaluation and the guards: anything
# under a ``tests`` or ``test`` directory, pytest's default file names, and conftest.py.
TEST_PATTERNS: tuple[str, ...] = (
    "**/tests/**",
    "**/test/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
)

_DRIVE = re.compile(r"^[A-Za-z]:")

# A cycle's records: one file per candidate in each, so two candidates never conflict.
SNAPSHOT_DIR = "snapshots"
MEMORY_DIR = "memory-bank/cycles"


PLANS_DIR = "memory-bank/plans"
QUESTIONS_FILE = "memory-bank/questions.md"


def plan_path(goal_id: str) -> str:
    """The plan page of a planned goal (engine.cycle.plans)."""
    return f"{PLANS_DIR}/{goal_id}.md"


def record_paths(cycle_id: str) -> tuple[str, ...]:
    """The files a cycle's records occupy: its snapshot JSON and its memory-bank entry,
    then the goal's plan page and the questions page (rendered from the records). The
    only paths in which a landing commit may differ from the evaluated candidate.

    ``cycle_id`` is ``<stamp>-<goal>-<n>-<pid>`` (:func:`engine.cycle.naming.cycle_id`)."""
    goal = cycle_id.split("-", 1)[-1].rsplit("-", 2)[0]
    return (
        f"{SNAPSHOT_DIR}/{cycle_id}.json",
        f"{MEMORY_DIR}/{cycle_id}.md",
        plan_path(goal),
        QUESTIONS_FILE,
    )


def check_path(file: str) -> str | None:
    """Return why ``file`` may not be named by an edit, or None when it is acceptable.

    Accepted: a non-empty, normalised, repository-relative POSIX path. Refused: empty,
    absolute (``/x``, ``C:\\x``, ``C:x``), backslashes, any ``..`` component, a ``.git``
    component anywhere (any case), NUL or other control characters, and paths that are
    not normalised (``./a``, ``a//b``, ``a/``).
    """
    if not file:
        return "empty path"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in file):
        return f"{file!r} contains NUL or control characters"
    if "\\" in file:
        return f"{file!r} contains a backslash; use '/' as the separator"
    if file.startswith("/") or _DRIVE.match(file):
        return f"{file!r} is absolute; use a path relative to the repository root"
    parts = file.split("/")
    if ".." in parts:
        return f"{file!r} has a '..' component; it could leave the repository"
    if any(part.casefold() == ".git" for part in parts):
        return f"{file!r} is inside .git; git's own files are never edited"
    if "" in parts or "." in parts:
        return f"{file!r} is not normalised; write it without './', '//' or a trailing '/'"
    return None


def matches(path: str, patterns: Sequence[str]) -> bool:
    """True when ``path`` matches at least one glob pattern (module docstring: syntax)."""
    return any(_compile(pattern).fullmatch(path) is not None for pattern in patterns)


def is_protected(path: str, extra: Sequence[str] = ()) -> bool:
    """True when ``path`` matches the built-in protected patterns or ``extra`` ones."""
    return matches(path, BUILTIN_PROTECTED) or matches(path, extra)


def is_test_file(path: str) -> bool:
    """True for files under a ``tests/`` or ``test/`` directory, ``test_*.py``,
    ``*_test.py`` and ``conftest.py`` at any depth (POSIX paths)."""
    return matches(path, TEST_PATTERNS)


def sources_first(files: Sequence[str]) -> tuple[str, ...]:
    """The files of ``files`` that are not tests, or all of them when every one is a test
    (a goal scoped to its tests): what a goal's targets are picked from by complexity. A
    test function is no target of its own there: complexity and coverage leave tests out,
    so its rank (its file "uncovered") would only put tests before the code they test."""
    sources = tuple(f for f in files if not is_test_file(f))
    return sources or tuple(files)


def python_files(files: Sequence[str]) -> list[str]:
    """The ``*.py`` entries of ``files``, sorted and without duplicates."""
    return sorted({f for f in files if f.endswith(".py")})


def in_scope(path: str, scope: Sequence[str]) -> bool:
    """True when ``path`` is inside a goal's scope.

    A non-empty ``scope`` is a list of glob patterns. An empty scope means every
    ``*.py`` file outside the built-in protected paths.
    """
    if scope:
        return matches(path, scope)
    return path.endswith(".py") and not is_protected(path)


def scope_files(
    tracked: Iterable[str], goal: Goal, protected_extra: Sequence[str] = ()
) -> tuple[str, ...]:
    """Tracked files the goal may change: its scope globs (default ``**/*.py``), never a
    protected path."""
    patterns = goal.scope or ("**/*.py",)
    return tuple(
        sorted(f for f in tracked if matches(f, patterns) and not is_protected(f, protected_extra))
    )


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    """Translate one glob pattern into an anchored regular expression."""
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    parts = pattern.split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            if last:
                # "dir/**" is everything inside dir; a lone "**" is everything.
                out.append(".+" if index else ".*")
            else:
                out.append("(?:[^/]+/)*")
        else:
            out.append(_component(part) + ("" if last else "/"))
    return re.compile("".join(out))


def _component(part: str) -> str:
    """Regex for one path component: ``*``, ``?`` and ``[...]`` never cross a ``/``."""
    out: list[str] = []
    i = 0
    while i < len(part):
        ch = part[i]
        if ch == "*":
            while i + 1 < len(part) and part[i + 1] == "*":
                i += 1  # "a**b" inside a component is just "a*b"
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and (end := part.find("]", i + 2)) != -1:
            body = part[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\").replace("^", "\\^")
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)
