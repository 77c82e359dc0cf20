"""engine.patching.transform: one edit, before -> after, as data."""

from __future__ import annotations

import textwrap
from typing import Any, cast

import pytest

from engine.model import Edit
from engine.patching.transform import EditApplied, EditFailed, apply_edit


def src(text: str) -> str:
    """A source snippet written indented in the test: dedented, first newline dropped."""
    return textwrap.dedent(text).removeprefix("\n")


def assert_patch(before: str | None, edit: Edit, after: str) -> None:
    result = apply_edit(before, edit)
    assert isinstance(result, EditApplied), result
    assert result.source == after


def assert_fails(before: str | None, edit: Edit, kind: str, *fragments: str) -> None:
    result = apply_edit(before, edit)
    assert isinstance(result, EditFailed), result
    assert result.kind == kind, result.reason
    for fragment in fragments:
        assert fragment in result.reason


MODULE = src('''
    """Module doc."""
    # a comment that must survive
    import os

    X = 1  # trailing comment


    # about helper
    def helper(a,   b):   # odd spacing stays
        return a + b


    class Parser:
        """Parses."""

        depth = 0

        @property
        def name(self):
            return "p"

        # about parse
        def parse(self, text):
            return text.split()

        class Inner:
            def method(self):
                return 1
        # end of Parser


    # end of file
''')


REPLACE = [
    pytest.param(
        "helper",
        "def helper(a, b):\n    return a * b\n",
        MODULE.replace(
            "def helper(a,   b):   # odd spacing stays\n    return a + b",
            "def helper(a, b):\n    return a * b",
        ),
        id="top-level function",
    ),
    pytest.param(
        "Parser.parse",
        "def parse(self, text):\n    return text.split(',')\n",
        MODULE.replace("return text.split()", "return text.split(',')"),
        id="method given at column 0 is re-indented",
    ),
    pytest.param(
        "Parser.parse",
        "    def parse(self, text):\n        return []\n",
        MODULE.replace("return text.split()", "return []"),
        id="method given indented is dedented first",
    ),
    pytest.param(
        "Parser.name",
        "def name(self):\n    return 'q'\n",
        MODULE.replace(
            '    @property\n    def name(self):\n        return "p"',
            "    def name(self):\n        return 'q'",
        ),
        id="decorators are part of the replaced node",
    ),
    pytest.param(
        "Parser.parse",
        "@staticmethod\n@cache\ndef parse(text):\n    if text:\n        return 1\n    return 0",
        MODULE.replace(
            "    def parse(self, text):\n        return text.split()",
            "    @staticmethod\n    @cache\n    def parse(text):\n"
            "        if text:\n            return 1\n        return 0",
        ),
        id="new decorators, nested block, no final newline",
    ),
    pytest.param(
        "Parser.Inner.method",
        "def method(self):\n    return 2\n",
        MODULE.replace("return 1", "return 2"),
        id="nested class method",
    ),
    pytest.param(
        "Parser.parse",
        "# about parse\ndef parse(self, text):\n    return None\n",
        MODULE.replace("return text.split()", "return None"),
        id="comment repeated by the model is kept once",
    ),
    pytest.param(
        "Parser.parse",
        "# new note\ndef parse(self, text):\n    return None\n",
        MODULE.replace(
            "    def parse(self, text):\n        return text.split()",
            "    # new note\n    def parse(self, text):\n        return None",
        ),
        id="new leading comment lands above the def, re-indented",
    ),
]


@pytest.mark.parametrize(("symbol", "code", "after"), REPLACE)
def test_replace(symbol: str, code: str, after: str) -> None:
    assert_patch(MODULE, Edit(file="m.py", op="replace", symbol=symbol, code=code), after)


def test_replace_whole_class_keeps_surroundings() -> None:
    before = src("""
        import os


        class A:
            x = 1


        # tail
    """)
    edit = Edit(file="m.py", op="replace", symbol="A", code="class A(Base):\n    y = 2\n")
    assert_patch(before, edit, before.replace("class A:\n    x = 1", "class A(Base):\n    y = 2"))


def test_replace_uses_the_last_of_duplicate_definitions() -> None:
    before = "def f():\n    return 1\n\n\ndef f():\n    return 2\n"
    edit = Edit(file="m.py", op="replace", symbol="f", code="def f():\n    return 3\n")
    assert_patch(before, edit, "def f():\n    return 1\n\n\ndef f():\n    return 3\n")


def test_replace_keeps_tabs_style_of_the_file() -> None:
    before = "class A:\n\tdef m(self):\n\t\treturn 1\n"
    edit = Edit(
        file="m.py", op="replace", symbol="A.m", code="def m(self):\n    if 1:\n        return 2\n"
    )
    assert_patch(before, edit, "class A:\n\tdef m(self):\n\t\tif 1:\n\t\t\treturn 2\n")


def test_replace_trailing_snippet_comment_is_kept() -> None:
    before = "def f():\n    return 1\n\n\ndef g():\n    return 2\n"
    edit = Edit(file="m.py", op="replace", symbol="f", code="def f():\n    return 3\n# done\n")
    after = "def f():\n    return 3\n# done\n\n\ndef g():\n    return 2\n"
    assert_patch(before, edit, after)


def test_crlf_file_stays_crlf() -> None:
    before = "def f():\r\n    return 1\r\n\r\n\r\ndef g():\r\n    return 2\r\n"
    edit = Edit(file="m.py", op="replace", symbol="g", code="def g():\n    return 3\n")
    assert_patch(before, edit, before.replace("return 2", "return 3"))


INSERT = [
    pytest.param(
        "def a():\n    pass\n",
        Edit(file="m.py", op="insert", after="a", code="def b():\n    return 1\n"),
        "def a():\n    pass\n\n\ndef b():\n    return 1\n",
        id="after a function: two blank lines",
    ),
    pytest.param(
        "class A:\n    def m(self):\n        pass\n\n    def z(self):\n        pass\n",
        Edit(file="m.py", op="insert", after="A.m", code="def n(self):\n    return 1\n"),
        "class A:\n    def m(self):\n        pass\n\n"
        "    def n(self):\n        return 1\n\n    def z(self):\n        pass\n",
        id="after a method: inside the class, one blank line",
    ),
    pytest.param(
        "class A:\n    class B:\n        def m(self):\n            pass\n",
        Edit(file="m.py", op="insert", after="A.B.m", code="def n(self):\n    pass\n"),
        "class A:\n    class B:\n        def m(self):\n            pass\n\n"
        "        def n(self):\n            pass\n",
        id="nested class",
    ),
    pytest.param(
        "import os\n\nX = 1\n",
        Edit(file="m.py", op="insert", code="def f():\n    return X\n"),
        "import os\n\nX = 1\n\n\ndef f():\n    return X\n",
        id="end of module",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="insert", code="Y = 2\nZ = 3\n"),
        "X = 1\nY = 2\nZ = 3\n",
        id="several statements at the end",
    ),
    pytest.param(
        "",
        Edit(file="m.py", op="insert", code="def f():\n    pass\n"),
        "def f():\n    pass\n",
        id="empty module",
    ),
    pytest.param(
        "X = 1\n\n# last words\n",
        Edit(file="m.py", op="insert", code="Y = 2\n"),
        "X = 1\nY = 2\n\n# last words\n",
        id="before the trailing comments of the file",
    ),
    pytest.param(
        "def a():\n    pass\nZ = 1\n",
        Edit(file="m.py", op="insert", after="a", code="def b():\n    pass\n"),
        "def a():\n    pass\n\n\ndef b():\n    pass\n\n\nZ = 1\n",
        id="spaces the following statement too",
    ),
    pytest.param(
        "def a():\n    pass\n",
        Edit(file="m.py", op="insert", after="a", code="\n\n\n# helper b\ndef b():\n    pass\n"),
        "def a():\n    pass\n\n\n# helper b\ndef b():\n    pass\n",
        id="snippet's own leading blank lines are normalised",
    ),
]


@pytest.mark.parametrize(("before", "edit", "after"), INSERT)
def test_insert(before: str, edit: Edit, after: str) -> None:
    assert_patch(before, edit, after)


DELETE = [
    pytest.param(
        "def a():\n    pass\n\n\n# about b\ndef b():\n    pass\n\n\ndef c():\n    pass\n",
        "b",
        "def a():\n    pass\n\n\ndef c():\n    pass\n",
        id="function with its comment",
    ),
    pytest.param(
        "def a():\n    pass\n\n\n# --- section ---\n\n"
        "@dec\ndef b():\n    pass\n\n\ndef c():\n    pass\n",
        "b",
        "def a():\n    pass\n\n\n# --- section ---\n\n\ndef c():\n    pass\n",
        id="detached comment stays, decorators go",
    ),
    pytest.param(
        "class A:\n    def m(self):\n        pass\n\n    def n(self):\n        pass\n",
        "A.n",
        "class A:\n    def m(self):\n        pass\n",
        id="last method",
    ),
    pytest.param(
        "class A:\n    def m(self):\n        pass\n\n    def n(self):\n        pass\n",
        "A.m",
        "class A:\n    def n(self):\n        pass\n",
        id="first method: no blank line after the class header",
    ),
    pytest.param(
        "class A:\n    def m(self):\n        pass\n",
        "A.m",
        "class A:\n    pass\n",
        id="only method leaves pass",
    ),
    pytest.param(
        "# header\n\ndef a():\n    pass\n\n\ndef b():\n    pass\n",
        "a",
        "# header\n\ndef b():\n    pass\n",
        id="first statement of the file",
    ),
    pytest.param(
        "X = 1\n\n\ndef a():\n    pass\n\n# the end\n",
        "a",
        "X = 1\n\n# the end\n",
        id="last statement keeps the file's trailing comments",
    ),
]


@pytest.mark.parametrize(("before", "symbol", "after"), DELETE)
def test_delete(before: str, symbol: str, after: str) -> None:
    assert_patch(before, Edit(file="m.py", op="delete", symbol=symbol), after)


ADD_IMPORT = [
    pytest.param(
        "import os\n\n\ndef f():\n    pass\n",
        "from pathlib import Path",
        "import os\nfrom pathlib import Path\n\n\ndef f():\n    pass\n",
        id="after the last import",
    ),
    pytest.param(
        "import os\nfrom pathlib import Path\n\nX = 1\n",
        "from pathlib import Path",
        "import os\nfrom pathlib import Path\n\nX = 1\n",
        id="already present: unchanged",
    ),
    pytest.param(
        "import os\n",
        "import os",
        "import os\n",
        id="plain import already present",
    ),
    pytest.param(
        "from os import path\n",
        "from os import path, sep",
        "from os import path\nfrom os import sep\n",
        id="only the missing names are added",
    ),
    pytest.param(
        "import numpy\n",
        "import numpy as np",
        "import numpy\nimport numpy as np\n",
        id="an alias is a different binding",
    ),
    pytest.param(
        '"""Doc."""\n\nX = 1\n',
        "import os",
        '"""Doc."""\n\nimport os\n\nX = 1\n',
        id="after the docstring when there are no imports",
    ),
    pytest.param(
        '"""Doc."""\nfrom __future__ import annotations\n\nX = 1\n',
        "import os",
        '"""Doc."""\nfrom __future__ import annotations\nimport os\n\nX = 1\n',
        id="after from __future__",
    ),
    pytest.param(
        "#!/usr/bin/env python\n# licence\ndef f():\n    pass\n",
        "import os",
        "#!/usr/bin/env python\n# licence\nimport os\n\n\ndef f():\n    pass\n",
        id="no docstring, no imports: top, below header comments",
    ),
    pytest.param(
        "import os\n\n\ndef f():\n    import json\n\n\nimport late\n",
        "import sys",
        "import os\nimport sys\n\n\ndef f():\n    import json\n\n\nimport late\n",
        id="late imports after code are not the anchor",
    ),
    pytest.param(
        '"""Doc."""\nimport os\n',
        "from __future__ import annotations",
        '"""Doc."""\n\nfrom __future__ import annotations\nimport os\n',
        id="__future__ goes first",
    ),
    pytest.param(
        "import os\n",
        "from . import sibling",
        "import os\nfrom . import sibling\n",
        id="relative import",
    ),
    pytest.param(
        "from . import sibling\n",
        "from . import sibling",
        "from . import sibling\n",
        id="relative import present",
    ),
    pytest.param(
        "",
        "import os",
        "import os\n",
        id="empty file",
    ),
    pytest.param(
        "from x import b\n",
        "from x import (\n    a,\n    b,\n)",
        "from x import b\nfrom x import (\n    a,\n)\n",
        id="parenthesised names keep their trailing comma",
    ),
    pytest.param(
        "from x import b\n",
        "from x import a, b",
        "from x import b\nfrom x import a\n",
        id="no dangling comma after filtering",
    ),
    pytest.param(
        "import os\n",
        "import y; import z",
        "import os\nimport y\nimport z\n",
        id="one line per import, no semicolons",
    ),
]


@pytest.mark.parametrize(("before", "code", "after"), ADD_IMPORT)
def test_add_import(before: str, code: str, after: str) -> None:
    assert_patch(before, Edit(file="m.py", op="add_import", code=code), after)


def test_add_import_notes_a_no_op() -> None:
    result = apply_edit("import os\n", Edit(file="m.py", op="add_import", code="import os"))
    assert result == EditApplied("import os\n", note="already imported")


TEXT_OPS = [
    pytest.param(
        None,
        Edit(file="new.py", op="create", code="X = 1"),
        "X = 1\n",
        id="create adds final newline",
    ),
    pytest.param(
        None, Edit(file="pkg/__init__.py", op="create", code=""), "", id="create empty file"
    ),
    pytest.param(
        None, Edit(file="README.md", op="create", code="# Hi\n"), "# Hi\n", id="create text file"
    ),
    pytest.param(
        "X = 1\n", Edit(file="m.py", op="rewrite", code="Y = 2\n"), "Y = 2\n", id="rewrite"
    ),
    pytest.param(
        "a = 1\nb = 2\n",
        Edit(file="m.py", op="search_replace", search="b = 2", replace="b = 3"),
        "a = 1\nb = 3\n",
        id="search_replace",
    ),
    pytest.param(
        "a = 1\nb = 2\n",
        Edit(file="m.py", op="search_replace", search="b = 2\n", replace=""),
        "a = 1\n",
        id="search_replace with empty replacement deletes",
    ),
    pytest.param(
        "[tool]\nx = 1\n",
        Edit(file="conf.toml", op="search_replace", search="x = 1", replace="x = 2"),
        "[tool]\nx = 2\n",
        id="search_replace in a non-Python file",
    ),
]


@pytest.mark.parametrize(("before", "edit", "after"), TEXT_OPS)
def test_text_ops(before: str | None, edit: Edit, after: str) -> None:
    assert_patch(before, edit, after)


FAILURES = [
    pytest.param(
        MODULE,
        Edit(file="m.py", op="replace", symbol="Parser.prase", code="def prase(self): pass"),
        "symbol",
        ("'Parser.prase' not found", "available: Parser.parse"),
        id="symbol missing lists close names first",
    ),
    pytest.param(
        MODULE,
        Edit(file="m.py", op="delete", symbol="nope"),
        "symbol",
        ("helper", "Parser.Inner.method"),
        id="delete missing",
    ),
    pytest.param(
        MODULE,
        Edit(file="m.py", op="insert", after="helper.inner", code="X = 1"),
        "symbol",
        ("helper.inner",),
        id="functions are not namespaces",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="delete", symbol="f"),
        "symbol",
        ("defines no functions or classes",),
        id="nothing defined",
    ),
    pytest.param(
        MODULE,
        Edit(file="m.py", op="replace", symbol="helper", code="def helper(:\n    pass"),
        "parse",
        ("the replace code:1",),
        id="code does not parse",
    ),
    pytest.param(
        MODULE,
        Edit(file="m.py", op="replace", symbol="helper", code="X = 1"),
        "invalid",
        ("one def or class",),
        id="replace code is not a def",
    ),
    pytest.param(
        MODULE,
        Edit(file="m.py", op="replace", symbol="helper", code="def a(): pass\ndef b(): pass"),
        "invalid",
        ("exactly one",),
        id="replace code has two defs",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="insert", code="return 1"),
        "parse",
        ("m.py:2", "'return' outside function"),
        id="return at module level refused by compile",
    ),
    pytest.param(
        "def f():\n    pass\n",
        Edit(file="m.py", op="insert", code="def g(a, a):\n    pass"),
        "parse",
        ("duplicate argument",),
        id="compile catches what LibCST accepts",
    ),
    pytest.param(
        "def f(:\n",
        Edit(file="m.py", op="delete", symbol="f"),
        "parse",
        ("m.py does not parse as it is",),
        id="existing file broken",
    ),
    pytest.param(
        "a = 1\n",
        Edit(file="m.py", op="search_replace", search="b = 2", replace="x"),
        "search",
        ("occurs 0 times",),
        id="search found 0 times",
    ),
    pytest.param(
        "a = 1\na = 1\n",
        Edit(file="m.py", op="search_replace", search="a = 1", replace="x"),
        "search",
        ("occurs 2 times",),
        id="search found 2 times",
    ),
    pytest.param(
        "aaa\n",
        Edit(file="t.txt", op="search_replace", search="aa", replace="b"),
        "search",
        ("occurs 2 times",),
        id="overlapping occurrences count",
    ),
    pytest.param(
        "a = 1\n",
        Edit(file="m.py", op="search_replace", search="a = 1", replace="a = ("),
        "parse",
        ("m.py:1",),
        id="search_replace result must parse",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="create", code="Y = 2\n"),
        "exists",
        ("already exists",),
        id="create existing",
    ),
    pytest.param(
        None,
        Edit(file="m.py", op="rewrite", code="Y = 2\n"),
        "missing",
        ("use create",),
        id="rewrite missing",
    ),
    pytest.param(
        None,
        Edit(file="m.py", op="replace", symbol="f", code="def f(): pass"),
        "missing",
        ("does not exist",),
        id="replace in missing file",
    ),
    pytest.param(
        None,
        Edit(file="m.py", op="search_replace", search="a", replace="b"),
        "missing",
        (),
        id="search_replace missing",
    ),
    pytest.param(
        None,
        Edit(file="m.py", op="create", code="def f(:\n"),
        "parse",
        ("m.py:1",),
        id="create invalid python",
    ),
    pytest.param(
        "x\n",
        Edit(file="a.txt", op="rewrite", code="x\x00y"),
        "binary",
        ("NUL",),
        id="NUL in text file",
    ),
    pytest.param(
        None,
        Edit(file="a.txt", op="create", code="\udcff"),
        "binary",
        ("UTF-8",),
        id="lone surrogate is not UTF-8",
    ),
    pytest.param(
        "x\n",
        Edit(file="a.md", op="replace", symbol="f", code="def f(): pass"),
        "invalid",
        ("needs a Python file",),
        id="symbol op on non-Python file",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="replace", symbol=None, code="def f(): pass"),
        "invalid",
        ("needs a symbol",),
        id="replace without symbol",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="insert", code="   \n"),
        "invalid",
        ("needs code",),
        id="blank code",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="add_import", code="x = 1"),
        "invalid",
        ("only import statements",),
        id="add_import of a non-import",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="search_replace", search="", replace="x"),
        "invalid",
        ("non-empty search",),
        id="empty search",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op="create", code=None),
        "invalid",
        ("needs code",),
        id="create without code",
    ),
    pytest.param(
        "X = 1\n",
        Edit(file="m.py", op=cast(Any, "frobnicate")),
        "invalid",
        ("unknown op",),
        id="unknown op",
    ),
]


@pytest.mark.parametrize(("before", "edit", "kind", "fragments"), FAILURES)
def test_failures(before: str | None, edit: Edit, kind: str, fragments: tuple[str, ...]) -> None:
    assert_fails(before, edit, kind, *fragments)


def test_symbol_list_is_capped_at_ten() -> None:
    before = "".join(f"def f{i}():\n    pass\n\n\n" for i in range(14))
    result = apply_edit(before, Edit(file="m.py", op="delete", symbol="zzz"))
    assert isinstance(result, EditFailed)
    assert "f9" in result.reason and "f10" not in result.reason
    assert "(and 4 more)" in result.reason


def test_snippet_with_a_less_indented_multiline_string() -> None:
    before = "class A:\n    def f(self):\n        pass\n"
    code = '    def f(self):\n        x = """\nraw\n"""\n        return x\n'
    after = 'class A:\n    def f(self):\n        x = """\nraw\n"""\n        return x\n'
    assert_patch(before, Edit(file="m.py", op="replace", symbol="A.f", code=code), after)


def test_async_def_is_a_symbol() -> None:
    before = "async def f():\n    return 1\n"
    edit = Edit(file="m.py", op="replace", symbol="f", code="async def f():\n    return 2\n")
    assert_patch(before, edit, "async def f():\n    return 2\n")


def test_edits_chain_on_one_text() -> None:
    edits = [
        Edit(file="m.py", op="add_import", code="import os"),
        Edit(file="m.py", op="insert", code="def f():\n    return os.sep\n"),
        Edit(file="m.py", op="replace", symbol="f", code="def f():\n    return os.getcwd()\n"),
    ]
    text = ""
    for edit in edits:
        result = apply_edit(text, edit)
        assert isinstance(result, EditApplied), result
        text = result.source
    assert text == "import os\n\n\ndef f():\n    return os.getcwd()\n"


WEIRD_SOURCES = [None, "", "\x00", "def f(:", "class A:\n  def m(s): pass\n"]
WEIRD_CODES = [None, "", "\x00", "def f(\n", "  x = 1\n y = 2\n", "x = " + "(" * 200 + ")" * 200]


@pytest.mark.parametrize("op", ["replace", "insert", "delete", "add_import", "create", "rewrite"])
def test_never_raises_on_hostile_input(op: Any) -> None:
    for source in WEIRD_SOURCES:
        for code in WEIRD_CODES:
            for symbol in (None, "", "A.m", "A..m"):
                edit = Edit(file="m.py", op=op, symbol=symbol, after=symbol, code=code)
                result = apply_edit(source, edit)
                assert not (isinstance(result, EditFailed) and result.kind == "internal"), result
