"""The guard registry: one table that the run order, GUARD_IDS, allow validation and the
SECURITY.md table all come from; unknown names list the valid ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_goals
from engine.errors import ConfigError, InputError, UnknownGuardError
from engine.gate.guards import GUARD_IDS, GUARDS, guard, run_guards
from engine.gate.guards.registry import allow_problem, render_table, valid_names
from engine.model import ChangeFacts, Directives, Metrics, TestMetrics
from engine.vcs import Repository
from tests.repo_helpers import ROOT, git, write


def test_ids_come_from_the_table() -> None:
    assert tuple(GUARDS) == GUARD_IDS
    assert len(set(GUARD_IDS)) == len(GUARD_IDS)
    assert all(gid.startswith("guard-") for gid in GUARD_IDS)
    assert {"guard-api-change", "guard-import-side-effect", "guard-env-exfiltration"} <= set(
        GUARD_IDS
    )


@pytest.mark.parametrize(
    ("gid", "on_fail", "allowable"),
    [
        ("guard-api-change", "review", True),
        ("guard-import-side-effect", "reject", True),
        ("guard-env-exfiltration", "reject", True),
        ("guard-tests-ran", "reject", False),
        ("guard-protected-paths", "reject", False),
        ("guard-quarantine", "reject", False),
    ],
)
def test_defaults(gid: str, on_fail: str, allowable: bool) -> None:
    spec = guard(gid).spec
    assert (spec.on_fail, spec.allowable) == (on_fail, allowable)


def test_an_alias_finds_its_guard() -> None:
    assert guard("api-change") is GUARDS["guard-api-change"]
    assert "api-change" in valid_names()


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownGuardError) as info:
        guard("guard-api-changes")
    assert isinstance(info.value, InputError) and isinstance(info.value, LookupError)
    message = str(info.value)
    assert message.startswith("unknown guard 'guard-api-changes'; valid guard names: ")
    assert all(name in message for name in valid_names())


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("api-change", None),
        ("guard-api-change", None),
        ("guard-security-network", None),
        ("complexity-increase", None),  # an allowance the rules read, not a guard
        ("guard-nope", "unknown guard 'guard-nope'"),
        ("guard-protected-paths", "guard 'guard-protected-paths' cannot be allowed by a goal"),
        ("guard-tests-ran", "guard 'guard-tests-ran' cannot be allowed by a goal"),
    ],
)
def test_allow_problems(name: str, problem: str | None) -> None:
    found = allow_problem(name)
    assert (found[0] if found else None) == problem


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        (
            "[api-change, guard-nope]",
            "goals.yaml:5:25: goals[0].allow[1]: unknown guard 'guard-nope'; valid guard "
            "names: guard-protected-paths, guard-tests-ran, ",
        ),
        (
            "[guard-quarantine]",
            "goals.yaml:5:13: goals[0].allow[0]: guard 'guard-quarantine' cannot be allowed "
            "by a goal; allowable guards: guard-tests-deleted, ",
        ),
    ],
)
def test_goals_yaml_allow_is_checked_against_the_registry(
    tmp_path: Path, allow: str, expected: str
) -> None:
    write(
        tmp_path / "goals.yaml",
        f"version: 1\ngoals:\n  - id: g\n    description: d\n    allow: {allow}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_goals(tmp_path)
    [issue] = [i.render() for i in info.value.issues]
    assert issue.startswith(expected), issue


def test_goals_yaml_accepts_known_guards_and_rule_allowances(tmp_path: Path) -> None:
    write(
        tmp_path / "goals.yaml",
        "version: 1\ngoals:\n  - id: g\n    description: d\n"
        "    allow: [api-change, guard-security-network, zero-roi]\n",
    )
    [goal] = load_goals(tmp_path)
    assert goal.allow == ("api-change", "guard-security-network", "zero-roi")


def test_security_md_shows_the_registry_table() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    assert render_table() in text, "regenerate the table: print(registry.render_table())"


def test_run_guards_runs_the_table_in_order(tmp_path: Path) -> None:
    """Every guard with a check, in table order; an allowed guard passes with its evidence."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "T")
    git(root, "config", "user.email", "t@example.invalid")
    write(root / "pkg" / "api.py", "from pkg.impl import helper\n\n\ndef run():\n    return 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    base = git(root, "rev-parse", "HEAD")
    write(root / "pkg" / "api.py", "def run():\n    return 1\n")
    git(root, "commit", "-qam", "candidate")
    head = git(root, "rev-parse", "HEAD")
    metrics = Metrics(tests=TestMetrics(passed=1, collected=1))

    def judge(allow: tuple[str, ...]) -> dict[str, tuple[bool, str]]:
        outcomes = run_guards(
            Repository.open(root), base, head, metrics, metrics,
            ChangeFacts(files=("pkg/api.py",)), Directives(), allow=allow,
        )  # fmt: skip
        assert [o.id for o in outcomes] == [g.id for g in GUARDS.values() if g.check]
        return {o.id: (o.passed, o.detail) for o in outcomes}

    strict = judge(())
    assert [gid for gid, (ok, _) in strict.items() if not ok] == ["guard-api-change"]
    assert "`from pkg.api import helper` would fail" in strict["guard-api-change"][1]
    passed, detail = judge(("api-change",))["guard-api-change"]
    assert passed and detail.startswith("allowed by the goal")
