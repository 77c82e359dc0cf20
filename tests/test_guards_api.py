"""guard-api-change as data: (path, before, after) -> the broken names / signature problems."""

from __future__ import annotations

import textwrap

import pytest

from engine.gate.guards.api import find_api_changes, is_public_module, module_name
from engine.gate.guards.base import FileVersion


def version(
    path: str, old: str | None, new: str | None, old_path: str | None = None
) -> FileVersion:
    def clean(text: str | None) -> str | None:
        return None if text is None else textwrap.dedent(text).lstrip("\n")

    status = "A" if old is None else "D" if new is None else "R" if old_path else "M"
    return FileVersion(path=path, status=status, old_path=old_path, old=clean(old), new=clean(new))


def broken(files: list[FileVersion], base: dict[str, str] | None = None) -> list[tuple[str, ...]]:
    """The ``names`` of every finding, in order."""
    base = base or {}
    tracked = {*base, *(f.old_path or f.path for f in files if f.old is not None)}
    found = find_api_changes(files, tracked, lambda path: textwrap.dedent(base.get(path, "")))
    return [f.names for f in found]


API = """
from shapes.geometry import Shape, area, perimeter
import os
from typing import TYPE_CHECKING

__all__ = ["Shape", "area", "perimeter", "describe"]
VERSION = "1.0"
_cache = {}

if TYPE_CHECKING:
    from shapes.types import Hidden

try:
    from fast import speedup
except ImportError:
    speedup = None


def describe(names):
    return [Shape(n).describe() for n in names]


class Client:
    def __init__(self, url, timeout=10):
        self.url = url

    def get(self, path, *, retries=3, **extra):
        return path

    def _private(self, x):
        return x
"""

NAME_CASES = [
    ("unchanged", API, API, []),
    ("reexport-removed", API, API.replace(", area, perimeter", ""),
     [("shapes.api.area", "shapes.api.perimeter")]),
    ("plain-import-removed", API, API.replace("import os\n", ""), [("shapes.api.os",)]),
    ("constant-removed", API, API.replace('VERSION = "1.0"\n', ""), [("shapes.api.VERSION",)]),
    ("private-removed-ok", API, API.replace("_cache = {}\n", ""), []),
    ("type-checking-only-ok", API,
     API.replace("    from shapes.types import Hidden\n", "    pass\n"), []),
    ("try-import-kept", API, API.replace("    speedup = None\n", "    pass\n"), []),
    ("function-removed", API, API.replace("def describe(names):", "def describe_all(names):"),
     [("shapes.api.describe",)]),
    ("class-removed", API, API.replace("class Client:", "class HttpClient:"),
     [("shapes.api.Client",)]),
    ("moved-into-import-ok", API,
     API.replace("import os\n", "import os\nfrom shapes.text import describe as describe\n")
     .replace("def describe(names):\n    return [Shape(n).describe() for n in names]\n", ""), []),
    ("all-dropped", API, API.replace('"perimeter", ', ""), [("shapes.api.perimeter",)]),
    ("del-unbinds", API, API + "\ndel VERSION\n", [("shapes.api.VERSION",)]),
    ("added-names-ok", API, API + "\n\ndef more():\n    return 1\n", []),
]  # fmt: skip

SIGNATURE_CASES = [
    ("param-added-with-default-ok", "def f(a, b=1):", "def f(a, b=1, c=2):", None),
    ("required-param-added", "def f(a):", "def f(a, b):", "new required parameter 'b'"),
    ("param-removed", "def f(a, b):", "def f(a):", "positional parameter 'b' removed"),
    ("param-renamed", "def f(a, b):", "def f(a, c):", "parameter 'b' renamed or moved"),
    ("params-swapped", "def f(a, b):", "def f(b, a):", "parameter 'a' renamed or moved"),
    ("became-keyword-only", "def f(a, b):", "def f(a, *, b):", "parameter 'b' became keyword-only"),
    ("became-positional-only", "def f(a, b):", "def f(a, b, /):",
     "parameter 'a' became positional-only"),
    ("positional-only-loosened-ok", "def f(a, /):", "def f(a):", None),
    ("keyword-only-loosened-ok", "def f(*, a):", "def f(a=None):", None),
    ("default-removed", "def f(a=1):", "def f(a):", "parameter 'a' lost its default"),
    ("kwonly-removed", "def f(*, a=1):", "def f():", "keyword parameter 'a' removed"),
    ("kwonly-removed-into-kwargs-ok", "def f(*, a=1):", "def f(**kw):", None),
    ("args-removed", "def f(*args):", "def f():", "*args removed"),
    ("kwargs-removed", "def f(**kw):", "def f():", "**kwargs removed"),
    ("became-async", "def f():", "async def f():", "became async"),
    ("annotations-only-ok", "def f(a):", "def f(a: int) -> int:", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "names"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES]
)
def test_module_names(before: str, after: str, names: list[tuple[str, ...]]) -> None:
    assert broken([version("shapes/api.py", before, after)]) == names


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [c[1:] for c in SIGNATURE_CASES],
    ids=[c[0] for c in SIGNATURE_CASES],
)
def test_signatures(before: str, after: str, problem: str | None) -> None:
    change = version("pkg/mod.py", f"{before}\n    return 1\n", f"{after}\n    return 1\n")
    result = find_api_changes([change], ["pkg/mod.py"], lambda _p: None)
    if problem is None:
        assert result == []
        return
    [finding] = result
    assert finding.names == ("pkg.mod.f",)
    assert problem in finding.evidence
    if "renamed" in problem:  # a rename is not also reported as a new required parameter
        assert "new required" not in finding.evidence, finding.evidence
    assert finding.before == before.rstrip(":") and finding.after == after.rstrip(":")


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        (API, API.replace("def get(self, path, *", "def get(self, route, *"), "renamed or moved"),
        (API, API.replace("timeout=10", "timeout"), "'timeout' lost its default"),
        (API, API.replace(", **extra", ""), "**kwargs removed"),
        (API, API.replace("def get(self", "def fetch(self"), "public method shapes.api.Client.get"),
        (API, API.replace("def _private(self, x)", "def _private(self)"), None),
        (API, API.replace("def get(self, path", "def get(this, path"), None),
    ],
    ids=["method-param-renamed", "init-default-removed", "kwargs-removed", "method-removed",
         "private-method-ok", "self-renamed-ok"],
)  # fmt: skip
def test_methods(before: str, after: str, problem: str | None) -> None:
    found = find_api_changes([version("shapes/api.py", before, after)], [], lambda _p: None)
    if problem is None:
        assert found == []
    else:
        assert [problem in f.evidence for f in found] == [True], [f.evidence for f in found]


@pytest.mark.parametrize(
    ("files", "base", "names"),
    [
        ([version("shapes/api.py", API, None)], {}, "shapes.api"),
        ([version("shapes/client.py", API, API, old_path="shapes/api.py")], {}, "shapes.api"),
        ([version("shapes/_impl.py", "def a():\n    pass\n", "X = 1\n")], {}, None),
        ([version("tests/test_api.py", "def test_a():\n    pass\n", None)], {}, None),
        (
            [version("shapes/_impl.py", "def a():\n    pass\n\ndef b():\n    pass\n",
                     "def a():\n    pass\n")],
            {"shapes/__init__.py": "from ._impl import *\n"},
            "shapes.b",
        ),
        (
            [version("shapes/_impl.py", "def a():\n    pass\n", "X = 1\n")],
            {"shapes/__init__.py": "from ._impl import *\n\n\ndef a():\n    pass\n"},
            None,
        ),
        ([version("shapes/__init__.py", "from shapes.impl import *\n", "")], {}, "shapes.*"),
        (
            [version("shapes/__init__.py", "from shapes import sub\n", ""),
             version("shapes/sub.py", None, "X = 1\n")],
            {},
            None,
        ),
    ],
    ids=["module-deleted", "module-renamed", "private-module-ok", "test-file-ok",
         "star-reexport-lost", "star-reexport-still-bound", "star-import-removed",
         "submodule-still-importable"],
)  # fmt: skip
def test_modules_and_star_imports(
    files: list[FileVersion], base: dict[str, str], names: str | None
) -> None:
    result = broken(files, base)
    if names is None:
        assert result == []
    else:
        assert [n for found in result for n in found if n.startswith(names)], result


@pytest.mark.parametrize(
    ("path", "module", "public"),
    [
        ("shapes/api.py", "shapes.api", True),
        ("src/shapes/__init__.py", "shapes", True),
        ("shapes/_impl.py", "shapes._impl", False),
        ("_vendor/x.py", "_vendor.x", False),
        ("pkg/__main__.py", "pkg.__main__", False),
        ("tests/test_x.py", None, False),
        ("pkg/conftest.py", None, False),
        ("my-scripts/run.py", None, False),
        ("README.md", None, False),
    ],
)
def test_module_names_and_privacy(path: str, module: str | None, public: bool) -> None:
    assert (module_name(path), is_public_module(path)) == (module, public)


def test_evidence_names_the_import_that_fails() -> None:
    [finding] = find_api_changes(
        [version("shapes/api.py", API, API.replace(", area, perimeter", ""))], [], lambda _p: None
    )
    assert finding.evidence.startswith("`from shapes.api import area, perimeter` would fail")
    assert finding.to_data()["names"] == ["shapes.api.area", "shapes.api.perimeter"]
