"""guard-import-side-effect and guard-env-exfiltration as data: before/after -> findings."""

from __future__ import annotations

import textwrap

import pytest

from engine.gate.guards.base import FileVersion
from engine.gate.guards.environ import find_env_exfiltration
from engine.gate.guards.importtime import find_import_side_effects

BASE = '''
"""Ops."""
import logging
import os

log = logging.getLogger(__name__)


def add(a, b):
    return a + b
'''


def change(after: str, before: str = BASE, path: str = "calc/ops.py") -> list[FileVersion]:
    return [
        FileVersion(
            path=path,
            status="M",
            old=textwrap.dedent(before).lstrip("\n"),
            new=textwrap.dedent(after).lstrip("\n"),
        )
    ]


SIDE_EFFECT_CASES = [
    # ---- allowed at module level
    ("function", BASE + "\n\ndef sub(a, b):\n    return a - b\n", None),
    ("decorated", BASE + "\n\n@functools.cache\ndef one():\n    return 1\n", None),
    ("constant", BASE + "\nLIMIT = 10\nNAMES = ('a', 'b')\n", None),
    ("annotated", BASE + "\nLIMIT: int = 10\nlater: str\n", None),
    ("all", BASE + "\n__all__ = ['add']\n__all__ += ['log']\n", None),
    ("pure-constructors", BASE + "\nimport re\nfrom typing import TypeVar\nT = TypeVar('T')\n"
     "PAT = re.compile('a+')\nS = frozenset({1, 2})\nJ = ', '.join(['a', 'b'])\n", None),
    ("getenv-one-variable", BASE + "\nDEBUG = os.getenv('DEBUG', '')\n", None),
    ("path-of-file", BASE + "\nfrom pathlib import Path\nHERE = Path(__file__).resolve().parent\n",
     None),
    ("type-checking", BASE + "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    print('never at run time')\n", None),
    ("main-block", BASE + "\nif __name__ == '__main__':\n    print(add(1, 2))\n", None),
    ("try-import", BASE + "\ntry:\n    import tomllib\nexcept ImportError:\n"
     "    tomllib = None\n", None),
    ("version-check", BASE + "\nimport sys\nif sys.version_info >= (3, 11):\n    import tomllib\n"
     "else:\n    import tomli as tomllib\n", None),
    ("null-handler", BASE + "\nlogging.getLogger(__name__).addHandler(logging.NullHandler())\n",
     None),
    ("class-fields", BASE + "\nfrom dataclasses import dataclass, field\n\n\n@dataclass\n"
     "class C:\n    items: list = field(default_factory=list)\n    size = compute()\n", None),
    ("docstring-and-pass", BASE + "\n'''More prose.'''\n...\n", None),
    # ---- side effects
    ("print", BASE + "\nprint('hello')\n", "print('hello')"),
    ("file-write", BASE + "\nopen('out.txt', 'w').write('x')\n", "open('out.txt', 'w')"),
    ("call-in-assignment", BASE + "\nDATA = open('data.txt').read()\n", "DATA = open("),
    ("loop", BASE + "\nfor i in range(3):\n    pass\n", "for i in range(3)"),
    ("with", BASE + "\nwith open('x') as fh:\n    pass\n", "with open('x')"),
    ("monkeypatch", BASE + "\nimport json\njson.dumps = lambda *a, **k: '{}'\n", "json.dumps ="),
    ("item-assign", BASE + "\nos.environ['X'] = '1'\n", "os.environ['X']"),
    ("sys-path", BASE + "\nimport sys\nsys.path.insert(0, '/x')\n", "sys.path.insert"),
    ("hidden-in-if", BASE + "\nif True:\n    print('x')\n", "if True"),
    ("hidden-in-try", BASE + "\ntry:\n    import x\nexcept ImportError:\n    print('no')\n",
     "try:"),
    ("class-body-call", BASE + "\nclass C:\n    print('at import')\n", "print('at import')"),
    ("walrus", BASE + "\nX = (y := 1)\n", "X = (y := 1)"),
]  # fmt: skip

ENV_CASES = [
    ("one-variable", BASE + "\nTOKEN = os.environ.get('TOKEN')\n", None),
    ("membership", BASE + "\n\ndef f():\n    return 'CI' in os.environ\n", None),
    ("item", BASE + "\n\ndef f():\n    return os.environ['HOME']\n", None),
    ("subprocess-env", BASE + "\nimport subprocess\n\n\ndef f():\n"
     "    subprocess.run(['x'], env={**os.environ, 'A': '1'}, check=True)\n", None),
    ("subprocess-env-copy", BASE + "\nimport subprocess\n\n\ndef f():\n"
     "    subprocess.run(['x'], env=os.environ.copy(), check=True)\n", None),
    ("dict", BASE + "\n\ndef f():\n    return dict(os.environ)\n", "dict(os.environ)"),
    ("copy", BASE + "\n\ndef f():\n    return os.environ.copy()\n", "os.environ.copy()"),
    ("json", BASE + "\nimport json\n\n\ndef f():\n    return json.dumps(os.environ)\n",
     "json.dumps(os.environ)"),
    ("items", BASE + "\n\ndef f():\n    return [k for k, v in os.environ.items()]\n",
     "os.environ.items()"),
    ("iterate", BASE + "\n\ndef f():\n    for k in os.environ:\n        log.info(k)\n",
     "for k in os.environ"),
    ("unpack", BASE + "\n\ndef f():\n    return {**os.environ}\n", "{**os.environ}"),
    ("print", BASE + "\n\ndef f():\n    print(os.environ)\n", "print(os.environ)"),
    ("fstring", BASE + "\n\ndef f():\n    return f'{os.environ}'\n", "os.environ"),
    ("alias", BASE + "\n\ndef f():\n    env = os.environ\n    return env\n", "env = os.environ"),
    ("from-import", BASE + "\nfrom os import environ as e\n\n\ndef f():\n    return list(e)\n",
     "list(e)"),
    ("kwargs", BASE + "\n\ndef f(g):\n    return g(**os.environ)\n", "g(**os.environ)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("after", "statement"),
    [c[1:] for c in SIDE_EFFECT_CASES],
    ids=[c[0] for c in SIDE_EFFECT_CASES],
)
def test_import_side_effects(after: str, statement: str | None) -> None:
    found = find_import_side_effects(change(after))
    if statement is None:
        assert found == [], [f.render() for f in found]
    else:
        [finding] = found
        assert finding.guard == "guard-import-side-effect"
        assert statement in finding.evidence and finding.evidence.startswith("runs at import time")
        assert finding.line > 0 and statement in finding.after


@pytest.mark.parametrize(
    ("after", "use"), [c[1:] for c in ENV_CASES], ids=[c[0] for c in ENV_CASES]
)
def test_env_exfiltration(after: str, use: str | None) -> None:
    found = find_env_exfiltration(change(after))
    if use is None:
        assert found == [], [f.render() for f in found]
    else:
        assert found, "not found"
        assert all(f.guard == "guard-env-exfiltration" for f in found)
        assert any(use in f.evidence for f in found), [f.evidence for f in found]


@pytest.mark.parametrize(
    "path", ["tests/test_env.py", "conftest.py", "pkg/tests/helpers.py", "README.md"]
)
def test_test_code_and_other_files_are_not_judged(path: str) -> None:
    after = BASE + "\nprint(dict(os.environ))\n"
    assert find_import_side_effects(change(after, path=path)) == []
    assert find_env_exfiltration(change(after, path=path)) == []


def test_only_new_occurrences_count() -> None:
    dump = BASE + "\nprint(dict(os.environ))\n"
    assert find_import_side_effects(change(dump + "\nX = 1\n", before=dump)) == []
    assert find_env_exfiltration(change(dump + "\nX = 1\n", before=dump)) == []
    moved = "print(dict(os.environ))\n" + BASE
    assert find_import_side_effects(change(moved, before=dump)) == []
    [again] = find_env_exfiltration(change(dump + "\nprint(dict(os.environ))\n", before=dump))
    assert again.line == dump.count("\n") + 1


def test_a_rewrite_that_makes_the_same_calls_is_no_new_side_effect() -> None:
    """sqlparse 0.6.1's docs/source/conf.py: ruff's UP032 rewrote an import-time call's
    formatting into an f-string, which was rejected as a new side effect."""
    before = BASE + "\ncopyright = '{:%Y}, A'.format(datetime.date.today())\nprint('x')\n"
    same = before.replace("'{:%Y}, A'.format(datetime.date.today())",
                          "f'{datetime.date.today():%Y}, A'")  # fmt: skip
    assert find_import_side_effects(change(same, before=before)) == []
    quoted = before.replace("print('x')", 'print("x")')  # the same call, other quotes
    assert find_import_side_effects(change(quoted, before=before)) == []
    other = before.replace("print('x')", "print('y')")  # another argument: new
    [finding] = find_import_side_effects(change(other, before=before))
    assert finding.after == "print('y')"
    retargeted = before.replace("copyright =", "os.environ['C'] =")  # another target: new
    assert len(find_import_side_effects(change(retargeted, before=before))) == 1


def test_a_new_file_counts_from_nothing() -> None:
    [new] = [
        FileVersion(path="calc/boot.py", status="A", old=None, new="import os\nprint(os.name)\n")
    ]
    [finding] = find_import_side_effects([new])
    assert (finding.file, finding.line, finding.after) == ("calc/boot.py", 2, "print(os.name)")


# A compound statement at module level is judged by what it holds: a change inside it
# (a sorted import, a new constant) leaves a side effect it already had alone, a side effect
# it did not have is new, and one moved out of it (it now runs unconditionally) is new.
# Found on boltons 26.2.0: ruff's import sorting inside
# ``try: from resource import getrlimit, RLIMIT_NOFILE / X = getrlimit(...)`` was rejected.
TRY_BASE = (
    BASE
    + """
try:
    from resource import getrlimit, RLIMIT_NOFILE
    SOFT, HARD = getrlimit(RLIMIT_NOFILE)
except Exception:
    SOFT, HARD = 0, 0

if os.name == "nt":
    print("windows")
"""
)
COMPOUND_CASES = [
    ("import-sorted-in-try",
     TRY_BASE.replace("getrlimit, RLIMIT_NOFILE", "RLIMIT_NOFILE, getrlimit"), None),
    ("constant-added-in-if",
     TRY_BASE.replace('    print("windows")', '    SEP = "\\\\"\n    print("windows")'), None),
    ("new-call-in-existing-try",
     TRY_BASE.replace("except Exception:", "    print('new')\nexcept Exception:"),
     "print('new')"),
    ("new-call-in-handler",
     TRY_BASE.replace("    SOFT, HARD = 0, 0", "    SOFT, HARD = 0, 0\n    print('new')"),
     "print('new')"),
    ("moved-out-of-if",
     TRY_BASE.replace('if os.name == "nt":\n    print("windows")', 'print("windows")'),
     "print('windows')"),
    ("changed-if-test",
     TRY_BASE.replace('if os.name == "nt":', 'if os.name == "posix":'), "print('windows')"),
    ("impure-test-added",
     BASE + "\nif os.system('x'):\n    X = 1\n", "os.system('x')"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("after", "statement"),
    [c[1:] for c in COMPOUND_CASES],
    ids=[c[0] for c in COMPOUND_CASES],
)
def test_compound_statements_are_judged_by_what_they_hold(
    after: str, statement: str | None
) -> None:
    found = find_import_side_effects(change(after, before=TRY_BASE))
    if statement is None:
        assert found == [], [f.render() for f in found]
    else:
        assert found, "not found"
        assert any(statement in f.evidence for f in found), [f.evidence for f in found]


def test_a_source_is_parsed_and_tokenized_once_per_text() -> None:
    """The guards of one judgement read every file version many times (python-dateutil
    4.0.0's 22-file lint fix: 6.0 s of guards, 2.8 s with one parse per text)."""
    from engine.gate.guards.pyast import aliases, comments, parse

    text = BASE + "\nimport os.path as p  # why\n"
    tree = parse(text)
    assert tree is not None and parse(text) is tree
    names = aliases(tree)
    names["x"] = "mutated"  # a caller's copy: the cached answer is not touched
    assert aliases(tree) == {"logging": "logging", "os": "os", "p": "os.path"}
    assert comments(text) == comments(text) == [(text.count("\n"), "# why")]
