"""engine.patching.plan and .diff: whole plans against real files, and their diffs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.model import Edit
from engine.patching.diff import count_lines, touched_symbols, unified_diff
from engine.patching.plan import PlanApplied, PlanRefused, Refusal, apply_plan
from tests.repo_helpers import git

UTIL = (
    "import os\n\n\ndef helper():\n    return 1\n\n\n"
    "class Parser:\n    def parse(self):\n        return 2\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {
        "engine/util.py": UTIL,
        "engine/other.py": "X = 1\n",
        "tests/test_util.py": "def test_a():\n    assert True\n",
        "goals.yaml": "goals: []\n",
        "README.md": "# readme\n",
        "data.bin": None,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.write_bytes(b"\xff\xfe\x00binary")
        else:
            path.write_text(text)
    return tmp_path


def reader(root: Path) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        file = root / path
        return file.read_text(encoding="utf-8") if file.exists() else None

    return read


def kinds(result: object) -> list[tuple[int, str]]:
    assert isinstance(result, PlanRefused), result
    return [(r.index, r.kind) for r in result.reasons]


def test_applies_chained_edits_and_describes_them(repo: Path) -> None:
    edits = [
        Edit(file="engine/util.py", op="add_import", code="from pathlib import Path"),
        Edit(
            file="engine/util.py",
            op="replace",
            symbol="Parser.parse",
            code="def parse(self):\n    return Path('.')\n",
        ),
        Edit(file="engine/util.py", op="insert", after="helper", code="def helper2():\n    pass"),
        Edit(file="tests/test_new.py", op="create", code="def test_b():\n    assert 1\n"),
    ]
    result = apply_plan(reader(repo), edits, scope=["engine/**", "tests/**"])
    assert isinstance(result, PlanApplied), result
    assert sorted(result.files) == ["engine/util.py", "tests/test_new.py"]
    assert "from pathlib import Path\n" in result.files["engine/util.py"]
    assert "return Path('.')" in result.files["engine/util.py"]
    assert result.original == {"engine/util.py": UTIL, "tests/test_new.py": None}
    assert result.protected == ()
    assert (result.added, result.removed) == (8, 1)
    assert result.diff_lines == 9
    assert result.symbols == (
        "engine/util.py::Parser.parse",
        "engine/util.py::helper2",
        "tests/test_new.py::test_b",
    )
    facts = result.change_facts()
    assert facts.tests_touched == ("tests/test_new.py",)
    assert facts.lines == 9 and not facts.empty
    assert (
        "diff --git a/tests/test_new.py b/tests/test_new.py\nnew file mode 100644\n" in result.diff
    )


def test_collects_every_refusal(repo: Path) -> None:
    edits = [
        Edit(file="../x.py", op="create", code="X = 1"),
        Edit(file="README.md", op="search_replace", search="readme", replace="x"),
        Edit(file="goals.yaml", op="rewrite", code="goals: [x]\n"),
        Edit(file="engine/util.py", op="delete", symbol="nope"),
        Edit(file="engine/util.py", op="delete", symbol="also_nope"),  # not tried: file broken
        Edit(file="engine/other.py", op="search_replace", search="Y", replace="Z"),
        Edit(file="engine/other.py", op="create", code="X = 2\n"),
        Edit(file="engine/new.py", op="insert", code="X = 1\n"),
    ]
    result = apply_plan(reader(repo), edits, scope=["engine/**"])
    assert kinds(result) == [
        (0, "path"),
        (1, "scope"),
        (2, "scope"),
        (2, "protected"),
        (3, "symbol"),
        (5, "search"),
        (7, "missing"),
    ]
    assert isinstance(result, PlanRefused)
    assert result.reasons[0] == Refusal(0, "../x.py", "path", result.reasons[0].reason)
    assert "edit 4 (engine/util.py): symbol:" in result.render()


def test_empty_scope_admits_python_files_only(repo: Path) -> None:
    edits = [
        Edit(file="README.md", op="rewrite", code="x\n"),
        Edit(file="engine/other.py", op="rewrite", code="X = 2\n"),
    ]
    assert kinds(apply_plan(reader(repo), edits, scope=[])) == [(0, "scope")]


def test_protected_allowed_is_reported(repo: Path) -> None:
    edits = [Edit(file="goals.yaml", op="rewrite", code="goals: [x]\n")]
    result = apply_plan(reader(repo), edits, scope=["**"], allow_protected=True)
    assert isinstance(result, PlanApplied)
    assert result.protected == ("goals.yaml",)
    assert result.change_facts().protected == ("goals.yaml",)


def test_extra_protected_patterns(repo: Path) -> None:
    edits = [Edit(file="engine/other.py", op="rewrite", code="X = 2\n")]
    result = apply_plan(reader(repo), edits, scope=[], protected_extra=["engine/other.py"])
    assert kinds(result) == [(0, "protected")]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ([], [(-1, "empty")]),
        ([Edit(file="engine/other.py", op="rewrite", code="X = 1\n")], [(-1, "empty")]),
        ([Edit(file="engine/util.py", op="add_import", code="import os")], [(-1, "empty")]),
    ],
    ids=["no edits", "same text", "import already there"],
)
def test_empty_plans(repo: Path, edits: list[Edit], expected: list[tuple[int, str]]) -> None:
    assert kinds(apply_plan(reader(repo), edits, scope=[])) == expected


def test_size_and_diff_caps(repo: Path) -> None:
    big = "X = 1\n" * 100
    edit = Edit(file="engine/big.py", op="create", code=big)
    assert kinds(apply_plan(reader(repo), [edit], scope=[], max_file_bytes=599)) == [(0, "size")]
    assert kinds(apply_plan(reader(repo), [edit], scope=[], max_diff_lines=99)) == [
        (-1, "too-large")
    ]
    assert isinstance(apply_plan(reader(repo), [edit], scope=[], max_diff_lines=100), PlanApplied)


def test_unreadable_file_is_refused_as_binary(repo: Path) -> None:
    edits = [Edit(file="data.bin", op="search_replace", search="a", replace="b")]
    assert kinds(apply_plan(reader(repo), edits, scope=["**"])) == [(0, "binary")]


def test_edit_after_a_created_file_sees_it(repo: Path) -> None:
    edits = [
        Edit(file="engine/new.py", op="create", code="def a():\n    pass\n"),
        Edit(file="engine/new.py", op="insert", after="a", code="def b():\n    pass\n"),
    ]
    result = apply_plan(reader(repo), edits, scope=[])
    assert isinstance(result, PlanApplied)
    assert result.files["engine/new.py"] == "def a():\n    pass\n\n\ndef b():\n    pass\n"


# --------------------------------------------------------------------------- diff


def test_diff_applies_with_git(tmp_path: Path) -> None:
    old = {"a.py": "x = 1\ny = 2\n", "b.txt": "no newline", "c.py": None}
    new = {"a.py": "x = 1\ny = 3\n", "b.txt": "no newline\nnow", "c.py": "z = 0\n"}
    for name, text in old.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    git(tmp_path, "init", "-q")
    diff = unified_diff(old, new)
    (tmp_path / "patch.diff").write_text(diff)
    git(tmp_path, "apply", "patch.diff")
    for name, text in new.items():
        assert (tmp_path / name).read_text() == text
    assert count_lines(diff) == (4, 2)


def test_diff_format() -> None:
    diff = unified_diff(
        {"a.py": "x = 1\n", "same.py": "s\n"}, {"a.py": "x = 2\n", "same.py": "s\n"}
    )
    assert diff == (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    )
    assert unified_diff({"a.py": "x\n"}, {"a.py": "x\n"}) == ""


def test_count_lines_ignores_headers_and_counts_lookalike_content() -> None:
    diff = unified_diff({"a.py": "-- a\n"}, {"a.py": "++ b\n--- c\n"})
    assert count_lines(diff) == (2, 1)


def test_form_feed_is_not_a_line_break() -> None:
    diff = unified_diff({"a.py": "x\x0cy\n"}, {"a.py": "x\x0cz\n"})
    assert count_lines(diff) == (1, 1)


TOUCHED = [
    ("def f():\n    return 1\n", "def f():\n    return 2\n", ("f",)),
    ("def f():\n    return 1\n", "# note\n\n\ndef f():\n    return 1\n", ()),
    ("", "def f():\n    pass\n", ("f",)),
    ("def f():\n    pass\n", "", ("f",)),
    (
        "class A:\n    x = 1\n\n    def m(self):\n        pass\n",
        "class A:\n    x = 1\n\n    def m(self):\n        return 1\n",
        ("A.m",),
    ),
    (
        "class A:\n    x = 1\n\n    def m(self):\n        pass\n",
        "class A:\n    x = 2\n\n    def m(self):\n        pass\n",
        ("A",),
    ),
    (
        "class A:\n    def m(self):\n        pass\n",
        "class A:\n    def m(self):\n        pass\n\n    def n(self):\n        pass\n",
        ("A.n",),
    ),
    ("def f():\n    pass\n", "@cache\ndef f():\n    pass\n", ("f",)),
    ("def f(:\n", "def f():\n    pass\n", ("f",)),
]


@pytest.mark.parametrize(("old", "new", "expected"), TOUCHED)
def test_touched_symbols(old: str, new: str, expected: tuple[str, ...]) -> None:
    assert touched_symbols("m.py", old, new) == expected


def test_touched_symbols_of_non_python_is_empty() -> None:
    assert touched_symbols("a.md", "def f(): pass\n", "") == ()
