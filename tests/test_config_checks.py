"""The loader's limits at their edges, the expression type check as a table, the option
tables against the docs, and ``ratchet check`` warnings with and without --strict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.config.bounds import MAX_ALIASES, MAX_DEPTH, MAX_NODES
from engine.config.files import MAX_FILE_BYTES, read_config_text
from engine.config.options import PROVIDER_OPTIONS
from engine.config.yamlpos import load_yaml
from engine.errors import ConfigIssue
from engine.gate.policy.expr import compile_expr
from engine.gate.policy.types import type_problems
from tests.config_corpus_cases import template_repo
from tests.repo_helpers import ratchet

ROOT = Path(__file__).resolve().parents[1]


def problems(text: str) -> list[str]:
    return [i.problem for i in load_yaml(text, "goals.yaml").issues]


def nested(depth: int) -> str:
    return "x: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"  # the root mapping is 1


def aliases(count: int) -> str:
    return "v: &v 1\nl: [" + ", ".join(["*v"] * count) + "]\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (nested(MAX_DEPTH), []),
        (nested(MAX_DEPTH + 1), [f"refused: too deep: nested more than {MAX_DEPTH} levels"]),
        (aliases(MAX_ALIASES), []),
        (aliases(MAX_ALIASES + 1), [f"refused: too many aliases: more than {MAX_ALIASES}"]),
        # 1 + 1 + 1 + (MAX_NODES - 4) + 1 values: exactly the limit
        ("x: [" + ",".join(["1"] * (MAX_NODES - 3)) + "]\n", []),
        (
            "x: [" + ",".join(["1"] * (MAX_NODES - 2)) + "]\n",
            [f"refused: too many values: more than {MAX_NODES} once aliases are expanded"],
        ),
        # an alias's depth counts where it is used
        (
            "a: &a " + "[" * 30 + "]" * 30 + "\nb: " + "[" * 25 + "*a" + "]" * 25 + "\n",
            [f"refused: too deep: nested more than {MAX_DEPTH} levels"],
        ),
        ("a: &a [1]\nb: [*a, *a]\n", []),
    ],
    ids=[
        "depth-at-limit",
        "depth-over",
        "aliases-at-limit",
        "aliases-over",
        "values-at-limit",
        "values-over",
        "alias-depth",
        "aliases-ok",
    ],
)
def test_limits_at_their_edges(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(("size", "refused"), [(MAX_FILE_BYTES, False), (MAX_FILE_BYTES + 1, True)])
def test_the_size_cap_is_exact(tmp_path: Path, size: int, refused: bool) -> None:
    (tmp_path / "goals.yaml").write_bytes(b"#" * (size - 1) + b"\n")
    result = read_config_text(tmp_path, "goals.yaml")
    assert isinstance(result, ConfigIssue) == refused


@pytest.mark.parametrize(
    ("expr", "kind", "expected"),
    [
        ("candidate.tests.failed == 0", "bool", []),
        ("-candidate.lint.unformatted", "number", []),
        ("candidate.coverage.percent - 0.5", "number", []),
        ("roi > 0.0 || ('zero-roi' in goal.allow && roi >= 0.0)", "bool", []),
        ("change.files.all(f, f.startsWith('src/'))", "bool", []),
        ("candidate.lint.by_code['E501'] == 0", "bool", []),  # free keys: run time decides
        ("candidate.tests.failed", "bool", ["must give true or false, but gives a number"]),
        ("candidate.tests.failed == 0", "number", ["must give a number, but gives true or false"]),
        (
            "change.empty || candidate.tests.failed > 'x'",
            "bool",
            [
                "type error: No such overload: the operation is not defined "
                "for the given operand types"
            ],
        ),
        (
            "candidate.sandbox != 1",
            "bool",
            ["!= compares a string (candidate.sandbox) with a number (1): always true"],
        ),
        (
            "candidate.tests.failed == '0' && false",
            "bool",
            ["== compares a number (candidate.tests.failed) with a string ('0'): always false"],
        ),
    ],
)
def test_expression_types(expr: str, kind: str, expected: list[str]) -> None:
    assert type_problems(compile_expr(expr), kind) == expected  # type: ignore[arg-type]


def test_every_documented_option_is_checked() -> None:
    docs = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    documented = set()
    for row in re.findall(r"^\| (`[a-z_]+`(?: / `[a-z_]+`)*) \|", docs, re.M):
        documented |= set(re.findall(r"`([a-z_]+)`", row))
    known = set().union(*(set(options) for options in PROVIDER_OPTIONS.values()))
    assert documented and documented <= known, sorted(documented - known)


def test_check_lists_warnings_and_strict_refuses_them(tmp_path: Path) -> None:
    repo = template_repo(tmp_path / "repo")
    (repo / "goals.yaml").write_text("version: 1\ngoals: []\n")
    run = ratchet("check", "--repo", str(repo))
    assert run.code == 0, run.stderr
    assert "goals.yaml:2:8: warning: goals: no goals" in run.stderr
    assert "warning(s)" in run.stdout
    strict = ratchet("check", "--strict", "--repo", str(repo))
    assert strict.code == 2
    assert "goals.yaml:2:8: warning: goals: no goals" in strict.stderr


def test_check_reports_an_unknown_ruff_code(tmp_path: Path) -> None:
    repo = template_repo(tmp_path / "repo")
    (repo / "goals.yaml").write_text(
        "version: 1\ngoals:\n  - id: g\n    description: d\n    options: {select: [UPP]}\n"
    )
    (repo / ".ratchet").mkdir()
    for _ in range(2):  # the second run reads the cached rule list
        run = ratchet("check", "--repo", str(repo))
        assert run.code == 2
        assert (
            "goals.yaml:5:24: goals[0].options.select[0]: ruff has no rule 'UPP'; "
            "did you mean 'UP'?" in run.stderr
        )
    assert list((repo / ".ratchet" / "cache").glob("ruff-rules-*.json"))
