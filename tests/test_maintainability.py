"""Our maintainability index is radon's, in linear time: the raw counts and the index
compared with radon's own on ratchet's sources and on the shapes that make a statement
span lines (brackets, strings, continuations, comments, semicolons)."""

from __future__ import annotations

import subprocess
import tokenize
from pathlib import Path

import pytest
from radon.metrics import mi_visit
from radon.raw import analyze as radon_analyze

from engine.gate.evaluation.probes.maintainability import analyze, maintainability_index

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {
    "table": "TABLE = (\n"
    + "".join(f"    ({i}, {i + 1}),  # row {i}\n" for i in range(300))
    + ")\n",
    "strings": 'def f():\n    """Doc\n\n    more.\n    """\n    x = """a\nb\n"""\n    return x\n',
    "continuation": "x = 1 + \\\n    2 + \\\n    3\nif x: y = 1; z = 2\n",
    "nested": "d = {\n    'a': [\n        1,\n\n        2,  # two\n    ],\n"
    "    'b': (3,\n          4),\n}\n",
    "comments": "# head\n\n# more\nimport os  # why\n'''\nloose string\n'''\n",
    "fstring": "name = 'x'\nmsg = (\n    f'{name}'\n    f'{name!r:>{10}}'\n)\n",
    "decorated": "@dec(\n    1,\n)\nclass C:\n    def m(self): return (\n        1)\n",
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_counts_and_index_are_radons_on_statements_spanning_lines(name: str) -> None:
    code = SHAPES[name]
    assert analyze(code) == radon_analyze(code)
    assert maintainability_index(code) == mi_visit(code, True)


def test_the_counts_are_radons_on_ratchets_own_sources() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(tracked) > 200
    for rel in tracked:
        code = (ROOT / rel).read_text(encoding="utf-8")
        assert analyze(code) == radon_analyze(code), rel


def test_an_unfinished_statement_is_a_syntax_error_as_in_radon() -> None:
    code = "x = (1,\n2,\n"
    with pytest.raises(SyntaxError):
        radon_analyze(code)
    with pytest.raises(SyntaxError):
        analyze(code)


def test_a_table_literal_of_thousands_of_lines_is_tokenized_twice_not_per_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """wcwidth 0.9.5's table_linebreak.py shape (one literal over 2,308 lines): radon
    tokenizes it once per line it adds (62 s there); here a statement is tokenized once
    to find its lines and once to check them, whatever its length (a spy on the stdlib
    tokenizer counts the passes)."""
    code = "TABLE = (\n" + "".join(f"    ({i}, {i * 2}),\n" for i in range(4000)) + ")\n"
    passes = []
    real = tokenize.generate_tokens

    def counted(readline):  # type: ignore[no-untyped-def]
        passes.append(1)
        return real(readline)

    monkeypatch.setattr(tokenize, "generate_tokens", counted)
    raw = analyze(code)
    assert raw.loc == 4002 and raw.lloc == 1
    assert len(passes) == 2
