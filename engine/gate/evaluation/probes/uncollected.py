"""A test command that collected nothing: said once, with the files pytest passed over.

pytest exits 5 when it collects no test. The rules let such a baseline stand (a project
without tests is not broken), but then nothing a candidate does is tested, and before this
the only sign was "coverage: no report (No data to report)". decorator 5.2.1 keeps its
tests in ``tests/test.py``, which pytest's default ``python_files`` (``test_*.py``,
``*_test.py``) never collects from a directory. So the note names what looks like tests
and was not collected — Python files in a ``tests``/``test``/``testing`` directory — and
how to run them: named on the command line, pytest collects a file whatever its name.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.gate.testcmd import PYTHON_FILES, default_test_module, pytest_addopts

TEST_DIRS = ("tests", "test", "testing")
SHOWN = 3

NO_TESTS = (
    "the test command collected no tests (pytest exit 5): nothing a candidate changes is "
    "tested, so a change of behaviour cannot merge (guard-behaviour-preserved: review)"
)


def no_tests_note(work: Path) -> str:
    """:data:`NO_TESTS`, with the test-like files of ``work`` pytest did not collect and
    the ``test_command`` that would run them, when there are any."""
    missed = passed_over(work)
    if not missed:
        return NO_TESTS + "; set test_command to the command that runs your tests"
    shown = ", ".join(missed[:SHOWN]) + (
        f" and {len(missed) - SHOWN} more" if missed[SHOWN:] else ""
    )
    command = "python -m pytest -q " + " ".join(missed)
    return (
        f"{NO_TESTS}; {shown} look like tests that pytest's python_files "
        f"({' '.join(PYTHON_FILES)}) does not collect: set test_command: {command} "
        "(or python_files in the pytest config)"
    )


def passed_over(work: Path) -> list[str]:
    """``.py`` files (not ``conftest.py`` or ``__init__.py``) under the test directories of
    ``work`` that the default ``python_files`` does not match, when the project's pytest
    configuration sets no ``python_files`` of its own."""
    _, addopts = pytest_addopts(work)
    if any("python_files" in a for a in addopts):
        return []
    found = []
    for top in TEST_DIRS:
        base = work / top
        if not base.is_dir() or base.is_symlink():
            continue
        for directory, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
            for name in sorted(filenames):
                if not name.endswith(".py") or name in ("conftest.py", "__init__.py"):
                    continue
                if not default_test_module(name):
                    found.append((Path(directory) / name).relative_to(work).as_posix())
    return found
