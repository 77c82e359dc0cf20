"""Context building within a token budget: repo map, targets, tests, history, feedback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.model import Directives, Goal
from engine.providers.base import ProposalRequest
from engine.providers.context import build_context
from engine.providers.repomap import collect_tests, index_source
from engine.providers.transport import estimate_tokens


def big_module(functions: int) -> str:
    """A module of many similar functions with bodies much larger than their signatures."""
    out = ['"""Many helpers."""\n']
    for n in range(functions):
        body = "\n".join(f"    total += value * {k}  # step {k} of helper {n}" for k in range(12))
        out.append(
            f"\n\ndef helper_{n}(value: int, scale: float = 1.0) -> float:\n"
            f'    """Helper number {n}."""\n    total = 0\n{body}\n    return total\n'
        )
    out.append(
        "\n\nclass Parser:\n    def parse(self, argv: list[str]) -> dict:\n"
        "        if not argv:\n            return {}\n        return {'args': argv}\n"
    )
    return "".join(out)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "pkg" / "big.py").write_text(big_module(60))
    (tmp_path / "pkg" / "small.py").write_text("def tiny(x):\n    return x + 1\n")
    (tmp_path / "pkg" / "elsewhere.py").write_text("def outside():\n    pass\n")
    (tmp_path / "tests" / "test_big.py").write_text(
        "from pkg.big import helper_7, Parser\n\n\n"
        "def test_helper_7():\n    assert helper_7(1) == 66\n\n\n"
        "def test_parse():\n    assert Parser().parse([]) == {}\n\n\n"
        "def test_unrelated():\n    assert True\n"
    )
    return tmp_path


def request(repo: Path, description: str, budget: int = 2000, **kw: object) -> ProposalRequest:
    return ProposalRequest(
        goal=Goal(id="g", description=description),
        root=repo,
        files=("pkg/big.py", "pkg/small.py"),
        directives=Directives(context_tokens=budget),
        **kw,  # type: ignore[arg-type]
    )


def test_context_fits_the_budget_and_is_far_smaller_than_the_files(repo: Path):
    context = build_context(request(repo, "Simplify helper_7 in pkg/big.py"))
    assert context.tokens <= 2000
    assert context.baseline_tokens > 4 * context.tokens


def test_mentioned_symbol_comes_whole_and_others_as_signatures(repo: Path):
    text = build_context(request(repo, "Simplify helper_7 in pkg/big.py", budget=3000)).render()
    assert "step 11 of helper 7" in text  # the target's whole body
    assert "def helper_30(value: int, scale: float=1.0) -> float" in text  # map signature
    assert "step 0 of helper 30" not in text  # ...but not its body
    assert "def test_helper_7" in text and "def test_unrelated" not in text


def test_small_file_goes_in_whole(repo: Path):
    context = build_context(request(repo, "Make tiny faster"))
    assert "pkg/small.py" in context.targets
    assert "return x + 1" in context.render()


def test_method_target_and_explicit_symbols_option(repo: Path):
    goal = Goal(id="g", description="tidy", options={"symbols": ["Parser.parse"]})
    req = ProposalRequest(
        goal=goal, root=repo, files=("pkg/big.py",), directives=Directives(context_tokens=1500)
    )
    context = build_context(req)
    assert context.targets[0] == "pkg/big.py:Parser.parse"
    assert "in class Parser" in context.render()
    assert "def test_parse" in context.render()


def test_without_mentions_the_most_complex_functions_are_chosen(tmp_path: Path):
    (tmp_path / "m.py").write_text(
        textwrap.dedent("""
        def simple():
            return 1


        def tangled(a, b):
            if a:
                for x in b:
                    if x and a or b:
                        while x:
                            x -= 1
            return a
        """)
        + "\n" * 3
        + "\n\n".join(f"def pad{n}():\n    return {n}" for n in range(120))
    )
    req = ProposalRequest(
        goal=Goal(id="g", description="reduce complexity"),
        root=tmp_path,
        files=("m.py",),
        directives=Directives(context_tokens=1000),
    )
    context = build_context(req, max_targets=1)
    assert context.targets == ("m.py:tangled",)


TANGLED_TEST = """
def test_tangled():
    for a in range(3):
        for b in range(3):
            if a and b:
                while a:
                    a -= 1
            elif b:
                assert b
"""


def test_by_complexity_the_code_is_chosen_before_its_more_complex_tests(tmp_path: Path):
    """toolz 1.2 (tests inside the package): a test function outranked the code it tests."""
    (tmp_path / "pkg" / "tests").mkdir(parents=True)
    (tmp_path / "pkg" / "core.py").write_text(
        "def branchy(a):\n    if a:\n        return 1\n    return 2\n"
        + "\n\n".join(f"def pad{n}():\n    return {n}" for n in range(120))
    )
    (tmp_path / "pkg" / "tests" / "test_core.py").write_text(
        TANGLED_TEST + "\n\n".join(f"def test_pad{n}():\n    assert {n} >= 0" for n in range(120))
    )
    files = ("pkg/core.py", "pkg/tests/test_core.py")

    def targets(scope: tuple[str, ...]) -> tuple[str, ...]:
        req = ProposalRequest(
            goal=Goal(id="g", description="reduce complexity"),
            root=tmp_path,
            files=scope,
            directives=Directives(context_tokens=1000),
        )
        return build_context(req, max_targets=1).targets

    assert targets(files) == ("pkg/core.py:branchy",)
    # a goal scoped to its tests alone still gets test targets
    assert targets(files[1:]) == ("pkg/tests/test_core.py:test_tangled",)


def test_outside_modules_are_listed_by_name(repo: Path):
    text = build_context(request(repo, "Simplify helper_7", budget=6000)).render()
    assert "pkg/elsewhere.py" in text


def test_history_keeps_the_newest_and_feedback_is_cut_in_the_middle(repo: Path):
    history = tuple(f"attempt {n}: coverage-ratchet: 81.{n} -> 79.9" for n in range(200))
    feedback = "\n".join(
        f"FAILED tests/test_big.py::test_{n} - assert {n} == 0" for n in range(400)
    )
    context = build_context(
        request(
            repo, "Simplify helper_7", budget=2000, history=history, feedback=feedback, attempt=2
        )
    )
    text = context.render()
    assert "attempt 199:" in text and "attempt 0:" not in text
    assert "older entries omitted" in text
    assert "test_0 - assert" in text and "test_399 - assert" in text  # head and tail kept
    assert "lines cut to fit the token budget" in text
    assert context.tokens <= 2000 * 1.05


@pytest.mark.parametrize("budget", [300, 800, 3000, 12000])
def test_every_budget_is_respected(repo: Path, budget: int):
    context = build_context(
        request(
            repo,
            "Simplify helper_7 and Parser.parse",
            budget=budget,
            lessons=("keep helpers pure",) * 3,
        )
    )
    assert context.tokens <= budget * 1.05


def test_symbols_table_lists_qualified_names(repo: Path):
    context = build_context(request(repo, "x"))
    assert "Parser.parse" in context.symbols["pkg/big.py"]
    assert context.symbols["pkg/small.py"] == ("tiny",)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "def f(a, b=2, *c, d: int, **e) -> str:\n    pass\n",
            ["def f(a, b=2, *c, d: int, **e) -> str"],
        ),
        (
            "class A(B, metaclass=M):\n    async def g(self):\n        pass\n",
            ["class A(B, metaclass=M)", "async def g(self)"],
        ),
        ("if X:\n    def hidden():\n        pass\n", []),
        ("def broken(:\n", []),
    ],
)
def test_repo_map_signatures(source: str, expected: list[str]):
    assert [s.signature for s in index_source("m.py", source).symbols] == expected


def test_decorated_symbol_source_includes_the_decorator():
    index = index_source("m.py", "import functools\n\n\n@functools.cache\ndef f():\n    return 1\n")
    [symbol] = index.symbols
    assert index.source(symbol).startswith("@functools.cache")


def test_collect_tests_finds_methods_of_test_classes():
    source = "class TestX:\n    def test_a(self):\n        pass\n\n\ndef test_b():\n    pass\n"
    assert [n for n, _ in collect_tests("tests/test_x.py", source)] == [
        "tests/test_x.py::TestX::test_a",
        "tests/test_x.py::test_b",
    ]


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("abcd", 1), ("abcde", 2), ("x" * 400, 100)])
def test_token_estimate_is_four_characters_per_token(text: str, tokens: int):
    assert estimate_tokens(text) == tokens
