"""guard-platform-branch-removed as data: base text, changed text, expected finding lines."""

from __future__ import annotations

import pytest

from engine.gate.guards.base import FileVersion
from engine.gate.guards.platform import find_removed_platform_branches

BASE = """\
import os
import sys


def data_dir(home):
    if sys.platform == "win32":
        return os.path.join(home, "AppData")
    return os.path.join(home, ".local")
"""

BRANCH = '    if sys.platform == "win32":\n        return os.path.join(home, "AppData")\n'
CASES = [
    ("branch removed", BASE.replace(BRANCH, ""), [6]),
    ("os.name instead: kept", BASE.replace('sys.platform == "win32"', 'os.name == "nt"'), []),
    ("branch body edited: kept", BASE.replace('"AppData"', '"AppData", "Roaming"'), []),
    ("nothing removed", BASE, []),
    ("version check removed", "import sys\nif sys.version_info < (3, 12):\n    X = 1\n", [2]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "new", "lines"), CASES, ids=[c[0] for c in CASES])
def test_platform_branches(name: str, new: str, lines: list[int]) -> None:
    old = BASE if name != "version check removed" else new
    new_text = new if name != "version check removed" else "import sys\nX = 1\n"
    found = find_removed_platform_branches(
        [FileVersion(path="pkg/paths.py", status="M", old=old, new=new_text)]
    )
    assert [f.line for f in found] == lines
    assert all(f.guard == "guard-platform-branch-removed" for f in found)


def test_test_files_are_not_judged() -> None:
    new = BASE.replace('    if sys.platform == "win32":\n', "    if True:\n")
    found = find_removed_platform_branches(
        [FileVersion(path="tests/test_paths.py", status="M", old=BASE, new=new)]
    )
    assert found == []
