"""engine.patching.planfile: edit plans from YAML/JSON files and dicts, errors with positions."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError
from engine.model import Edit, Proposal
from engine.patching.planfile import load_plan, plan_from_data, plan_to_data

GOOD_YAML = """\
summary: Flatten the nested branches in parse_args
rationale: |
  Fewer branches.
provider: scripted
model: none
edits:
  - {file: engine/cli.py, op: replace, symbol: Parser.parse, code: "def parse(self): ..."}
  - file: engine/util.py
    op: insert
    after: helper
    code: |
      def new_helper():
          pass
  - {file: engine/util.py, op: delete, symbol: old_helper}
  - {file: engine/util.py, op: add_import, code: "from pathlib import Path"}
  - {file: tests/test_util.py, op: create, code: ""}
  - {file: engine/util.py, op: search_replace, search: "a = 1", replace: ""}
  - {file: engine/util.py, op: rewrite, code: "X = 1\\n"}
  - {file: engine/util.py, op: insert, after: null, code: "Y = 2", symbol: "", search: null}
"""

EXPECTED = Proposal(
    summary="Flatten the nested branches in parse_args",
    rationale="Fewer branches.\n",
    provider="scripted",
    model="none",
    edits=(
        Edit(
            file="engine/cli.py", op="replace", symbol="Parser.parse", code="def parse(self): ..."
        ),
        Edit(
            file="engine/util.py",
            op="insert",
            after="helper",
            code="def new_helper():\n    pass\n",
        ),
        Edit(file="engine/util.py", op="delete", symbol="old_helper"),
        Edit(file="engine/util.py", op="add_import", code="from pathlib import Path"),
        Edit(file="tests/test_util.py", op="create", code=""),
        Edit(file="engine/util.py", op="search_replace", search="a = 1", replace=""),
        Edit(file="engine/util.py", op="rewrite", code="X = 1\n"),
        Edit(file="engine/util.py", op="insert", code="Y = 2"),
    ),
)


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def issues(path: Path) -> list[tuple[int, int, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_plan(path)
    return [(i.line, i.col, i.field, i.problem) for i in caught.value.issues]


def test_loads_every_op_from_yaml(tmp_path: Path) -> None:
    assert load_plan(write(tmp_path, GOOD_YAML)) == EXPECTED


def test_loads_json_even_with_tab_indentation(tmp_path: Path) -> None:
    data = plan_to_data(EXPECTED)
    spaced = write(tmp_path, json.dumps(data, indent=2), "plan.json")
    tabbed = write(tmp_path, json.dumps(data, indent="\t"), "tabs.json")
    assert load_plan(spaced) == EXPECTED
    assert load_plan(tabbed) == EXPECTED


def test_json_errors_point_at_the_line_even_with_tabs(tmp_path: Path) -> None:
    text = '{\n\t"summary": "x",\n\t"edits": [\n\t\t{"file": "a.py", "op": "delete"}\n\t]\n}\n'
    path = tmp_path / "plan.json"
    path.write_text(text)
    assert issues(path) == [(4, 3, "edits[0].symbol", "missing")]


ERRORS = [
    pytest.param(
        """\
        summary: x
        edits:
          - {file: a.py, op: replce, code: x}
        """,
        [(3, 22, "edits[0].op", "unknown op 'replce'")],
        id="unknown op",
    ),
    pytest.param(
        """\
        summary: x
        edits:
          - file: b.py
            op: replace
            code: 3
            serch: x
        """,
        [
            (3, 5, "edits[0].symbol", "missing"),
            (5, 11, "edits[0].code", "expected a string, got int 3"),
            (6, 5, "edits[0].serch", "unknown key"),
        ],
        id="missing field, wrong type, unknown key in one edit",
    ),
    pytest.param(
        """\
        summary: x
        edits:
          - {file: c.py, op: search_replace, search: x}
          - {file: no, op: delete, symbol: f, code: "x"}
          - {file: d.py, op: insert, code: ""}
          - {op: create, code: x}
        """,
        [
            (3, 5, "edits[0].replace", "missing"),
            (4, 12, "edits[1].file", "expected a string, got bool False"),
            (4, 45, "edits[1].code", "not used by op 'delete'"),
            (5, 36, "edits[2].code", "must not be empty"),
            (6, 5, "edits[3].file", "missing"),
        ],
        id="per-op requirements",
    ),
    pytest.param(
        """\
        summary: x
        rationale: y
        edit: []
        """,
        [(1, 1, "edits", "missing"), (3, 1, "edit", "unknown key")],
        id="misspelt top-level key",
    ),
    pytest.param(
        """\
        summary: |
          two
          lines
        edits: {}
        """,
        [
            (1, 10, "summary", "must be one line (it becomes the commit subject)"),
            (4, 8, "edits", "expected a list, got a mapping"),
        ],
        id="summary and edits shapes",
    ),
    pytest.param(
        """\
        summary: ""
        edits:
          - just a string
        """,
        [
            (1, 10, "summary", "must not be empty"),
            (3, 5, "edits[0]", "expected a mapping, got str 'just a string'"),
        ],
        id="empty summary, edit not a mapping",
    ),
    pytest.param(
        """\
        summary: x
        summary: y
        edits: []
        """,
        [(2, 1, "summary", "duplicate key")],
        id="duplicate key",
    ),
    pytest.param(
        """\
        summary: x
        edits: []
        1: x
        """,
        [(3, 1, "plan", "keys must be strings, got int 1")],
        id="non-string key",
    ),
    pytest.param(
        """\
        summary: x
        edits: [
        """,
        [(3, 1, "plan", "not valid YAML/JSON")],
        id="syntax error",
    ),
    pytest.param("", [(0, 0, "plan", "the plan is empty")], id="empty file"),
    pytest.param("- a\n- b\n", [(1, 1, "plan", "expected a mapping, got a list")], id="a list"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_point_at_line_and_column(
    tmp_path: Path, text: str, expected: list[tuple[int, int, str, str]]
) -> None:
    found = issues(write(tmp_path, text))
    assert [(line, col, field) for line, col, field, _ in found] == [
        (line, col, field) for line, col, field, _ in expected
    ]
    for (*_, problem), (*_, want) in zip(found, expected, strict=True):
        assert problem.startswith(want)


def test_error_message_renders_file_line_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "summary: x\nedits:\n  - {file: a.py, op: replce, code: x}\n")
    with pytest.raises(ConfigError) as caught:
        load_plan(path)
    assert str(caught.value) == (
        f"{path}:3:22: edits[0].op: unknown op 'replce'; did you mean 'replace'? "
        "ops: replace, insert, delete, add_import, create, search_replace, patch, rewrite"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    assert issues(tmp_path / "missing.yaml")[0][:3] == (0, 0, "plan")


def test_round_trip_through_data() -> None:
    data = plan_to_data(EXPECTED)
    assert data["edits"][2] == {"file": "engine/util.py", "op": "delete", "symbol": "old_helper"}
    assert plan_from_data(data, "answer") == EXPECTED


def test_from_data_defaults_and_nulls() -> None:
    data: dict[str, Any] = {
        "summary": " Do it ",
        "rationale": None,
        "edits": [{"file": "a.py", "op": "delete", "symbol": "f", "code": None, "after": ""}],
    }
    assert plan_from_data(data, "answer") == Proposal(
        summary="Do it", edits=(Edit(file="a.py", op="delete", symbol="f"),)
    )


def test_from_data_errors_have_line_zero() -> None:
    data = {"summary": "x", "edits": [{"file": "a.py", "op": "replace", "code": "def f(): pass"}]}
    with pytest.raises(ConfigError) as caught:
        plan_from_data(data, "gemini answer")
    assert str(caught.value) == "gemini answer:0:0: edits[0].symbol: missing"


def test_from_data_reports_every_problem() -> None:
    data = {"summary": 3, "edits": [{"file": "a.py", "op": "nope"}, {"op": "create"}], "x": 1}
    with pytest.raises(ConfigError) as caught:
        plan_from_data(data, "answer")
    fields = [i.field for i in caught.value.issues]
    assert fields == ["x", "summary", "edits[0].op", "edits[1].file", "edits[1].code"]
