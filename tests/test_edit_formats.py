"""Edit formats: the ``patch`` op (a unified diff, applied as models write them), the
format's prompt and schema, and the default per provider class."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.config import load_directives
from engine.errors import ConfigError
from engine.model import EDIT_FORMATS, Directives, Edit, Goal, ProviderConfig
from engine.patching.transform import EditApplied, EditFailed, apply_edit
from engine.patching.unidiff import PatchProblem, apply_patch
from engine.providers.answer import AnswerProblem, parse_answer
from engine.providers.base import ProposalRequest
from engine.providers.editformat import (
    SMALL_MODEL_FORMAT,
    default_format,
    format_ops,
    system_prompt,
)
from engine.providers.gemini import make_gemini
from engine.providers.local import make_local
from engine.providers.openai_compat import make_openai_compat
from engine.providers.schema import plan_schema
from engine.providers.settings import LLMSettings

SOURCE = (
    "import os\n\n\ndef f(a):\n    if a:\n        return 1\n    return 2\n"
    "\n\ndef g():\n    return 3\n"
)


# --------------------------------------------------------------------------- apply_patch


def test_a_hunk_at_its_header_line_applies():
    diff = "--- a/m.py\n+++ b/m.py\n@@ -5,2 +5,2 @@\n     if a:\n-        return 1\n"
    diff += "+        return 10\n"
    assert apply_patch(SOURCE, diff) == SOURCE.replace("return 1\n", "return 10\n")


def test_wrong_line_numbers_and_counts_are_only_a_hint():
    diff = "@@ -40,9 +41,1 @@\n def g():\n-    return 3\n+    return 30\n"
    assert apply_patch(SOURCE, diff) == SOURCE.replace("return 3", "return 30")


def test_a_blank_context_line_without_its_space_and_trailing_blanks_are_forgiven():
    diff = "@@ -7,4 +7,4 @@\n     return 2   \n\n\n-def g():\n+def h():\n"
    assert apply_patch(SOURCE, diff) == SOURCE.replace("def g", "def h")


def test_two_hunks_apply_in_order_with_the_offset_of_the_first():
    diff = (
        "@@ -1,1 +1,2 @@\n import os\n+import sys\n"
        "@@ -10,2 +11,2 @@\n def g():\n-    return 3\n+    return sys.maxsize\n"
    )
    out = apply_patch(SOURCE, diff)
    assert out == SOURCE.replace("import os\n", "import os\nimport sys\n").replace(
        "return 3", "return sys.maxsize"
    )


@pytest.mark.parametrize(
    ("diff", "problem"),
    [
        ("just prose, no hunk", "has no hunks"),
        ("@@ -1,0 +1,1 @@\n+x = 1\n", "only adds lines"),
        (
            "@@ -1,1 +1,1 @@\n-import sys\n+import re\n",
            "not in the file (the first is 'import sys')",
        ),
        ("@@ -1,2 +1,2 @@\n-    return 9\n+    return 5\n", "not in the file"),
        ("@@ -1,1 +1,1 @@\n-\n+# x\n", "occur 4 times (at lines 2, 3, 8, 9)"),
    ],
)
def test_a_patch_that_cannot_be_placed_says_why(diff: str, problem: str):
    result = apply_patch(SOURCE, diff)
    assert isinstance(result, PatchProblem)
    assert problem in result.reason


def test_a_file_without_a_final_newline_keeps_it_that_way():
    assert apply_patch("a = 1\nb = 2", "@@ -2 +2 @@\n-b = 2\n+b = 3\n") == "a = 1\nb = 3"


def test_the_patch_op_refuses_a_result_that_does_not_parse():
    edit = Edit(file="m.py", op="patch", code="@@ -11 +11 @@\n-    return 3\n+    return (\n")
    result = apply_edit(SOURCE, edit)
    assert isinstance(result, EditFailed) and result.kind == "parse"


# --------------------------------------------------------------------------- formats


CLAMP = (
    "def clamp(x, lo, hi):\n"
    '    """Limit x to the range [lo, hi]."""\n'
    "    if x < lo:\n        return lo\n    else:\n        if x > hi:\n"
    "            return hi\n        return x\n"
)


@pytest.mark.parametrize("edit_format", sorted(EDIT_FORMATS))
def test_every_formats_prompt_example_applies_to_the_code_it_shows(edit_format: str):
    prompt = system_prompt(edit_format)
    assert CLAMP in prompt  # the example's "before"
    line = next(x for x in prompt.splitlines() if x.startswith('{"summary": "Flatten'))
    (edit,) = json.loads(line)["edits"]
    applied = apply_edit(CLAMP, Edit(**edit))
    assert isinstance(applied, EditApplied)
    assert "return max(lo, min(x, hi))" in applied.source and "else" not in applied.source
    offered = re.findall(r"^- (\w+): \{", prompt, re.M)
    assert offered == list(format_ops(edit_format))
    assert "$" not in prompt  # every placeholder filled


@pytest.mark.parametrize("edit_format", sorted(EDIT_FORMATS))
@pytest.mark.parametrize("closed", [False, True])
def test_the_schema_offers_the_formats_ops_only(edit_format: str, closed: bool):
    schema = plan_schema(["m.py"], ["f", "g"], closed=closed, ops=format_ops(edit_format))
    items = schema["properties"]["edits"]["items"]
    if closed:  # a closed schema never offers create (a new path is no enum)
        offered = sorted(v["properties"]["op"]["enum"][0] for v in items["anyOf"])
        assert offered == sorted(set(EDIT_FORMATS[edit_format]) - {"create"})
    else:
        offered = sorted(items["properties"]["op"]["enum"])
        assert offered == sorted(EDIT_FORMATS[edit_format])


@pytest.mark.parametrize(
    ("value", "provider", "url", "expected"),
    [
        (None, "local", None, SMALL_MODEL_FORMAT),
        ("auto", "openai_compat", "http://127.0.0.1:8080/v1", SMALL_MODEL_FORMAT),
        (None, "openai_compat", "http://localhost:11434/v1", SMALL_MODEL_FORMAT),
        (None, "openai_compat", "http://192.168.1.20:1234/v1", SMALL_MODEL_FORMAT),
        (None, "openai_compat", "https://api.openai.com/v1", "all"),
        (None, "gemini", None, "all"),
        ("patch", "local", None, "patch"),
        ("search_replace", "openai_compat", "https://api.openai.com/v1", "search_replace"),
    ],
)
def test_the_default_format_follows_the_provider_class(
    value: str | None, provider: str, url: str | None, expected: str
):
    options = {} if value is None else {"edit_format": value}
    settings = LLMSettings.from_options(options, "m", edit_format=default_format(provider, url))
    assert settings.edit_format == expected


def test_each_provider_applies_its_default_and_the_option_overrides_it():
    local = ProviderConfig(name="openai_compat", options={"base_url": "http://127.0.0.1:9/v1"})
    hosted = ProviderConfig(name="openai_compat", options={"base_url": "https://api.openai.com/v1"})
    settings = make_openai_compat(local, Directives(), env={}).settings  # type: ignore[attr-defined]
    assert (settings.edit_format, settings.closed_schema) == (SMALL_MODEL_FORMAT, True)
    hosted_settings = make_openai_compat(hosted, Directives(), env={}).settings  # type: ignore[attr-defined]
    assert (hosted_settings.edit_format, hosted_settings.closed_schema) == ("all", True)
    gemini = make_gemini(ProviderConfig(name="gemini"), Directives(), env={}).settings  # type: ignore[attr-defined]
    assert (gemini.edit_format, gemini.closed_schema) == ("all", False)
    chosen = ProviderConfig(name="local", options={"edit_format": "patch"})
    assert make_local(chosen, Directives(), env={}).settings.edit_format == "patch"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="provider.options.edit_format"):
        make_local(ProviderConfig(name="local", options={"edit_format": "diff"}), Directives())


def test_a_bad_edit_format_in_directives_names_file_line_and_choices(tmp_path: Path):
    (tmp_path / "directives.yaml").write_text(
        "version: 1\nprovider:\n  name: local\n  options:\n    edit_format: diff\n"
    )
    with pytest.raises(ConfigError) as error:
        load_directives(tmp_path)
    text = str(error.value)
    assert "directives.yaml:5:" in text and "provider.options.edit_format" in text
    assert "search_replace" in text and "patch" in text


def test_an_answer_whose_patch_does_not_apply_is_sent_back_with_the_hunk(tmp_path: Path):
    (tmp_path / "m.py").write_text(SOURCE)
    request = ProposalRequest(goal=Goal(id="g", description="d"), root=tmp_path, files=("m.py",))
    bad = {"file": "m.py", "op": "patch", "code": "@@ -1 +1 @@\n-import sys\n+import re\n"}
    answer = json.dumps({"summary": "Swap the import", "edits": [bad]})
    problem = parse_answer(answer, request, {"m.py": ("f", "g")}, source="test:model")
    assert isinstance(problem, AnswerProblem)
    assert "the patch does not apply: hunk 1:" in problem.message
    good = {**bad, "code": "@@ -1 +1 @@\n-import os\n+import re\n"}
    answer = json.dumps({"summary": "Swap", "edits": [good]})
    plan = parse_answer(answer, request, {}, source="test:model")
    assert not isinstance(plan, AnswerProblem) and plan.edits[0].op == "patch"
