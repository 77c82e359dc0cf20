"""Which repository files count as tests (excluded from complexity, security and coverage)."""

from __future__ import annotations

from pathlib import PurePosixPath

TEST_DIRS = frozenset({"tests", "test"})


def is_test_path(path: str) -> bool:
    """True for ``tests/...``, ``test_*.py``, ``*_test.py`` and ``conftest.py`` (POSIX paths)."""
    pure = PurePosixPath(path)
    name = pure.name
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(part in TEST_DIRS for part in pure.parts[:-1])


def python_files(files: list[str] | tuple[str, ...]) -> list[str]:
    """The ``*.py`` entries of ``files``, sorted and without duplicates."""
    return sorted({f for f in files if f.endswith(".py")})
