"""Loading whole configurations: templates, missing files, several files, fingerprints."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.config import (
    config_fingerprint,
    init_repo,
    load_config,
    load_directives,
    load_goals,
    load_rules,
)
from engine.config.yamlpos import Pos, load_yaml, render_path
from engine.errors import ConfigError
from engine.model import Directives, Goal, ProviderConfig, Schedule

DEFAULT_RULE_IDS = [
    "tests-pass",
    "tests-not-fewer",
    "no-new-skips",
    "coverage-ratchet",
    "diff-coverage",
    "diff-coverage-strict",
    "complexity-ratchet",
    "lint-ratchet",
    "security-ratchet",
    "no-protected-paths",
    "not-empty",
    "positive-roi",
]


def rendered(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [issue.render() for issue in error.value.issues]


def test_the_templates_load_and_match_the_model_defaults(tmp_path: Path) -> None:
    init_repo(tmp_path)
    config = load_config(tmp_path)
    # every default but one: the file init writes schedules a nightly cycle, where a
    # directives.yaml without a schedule runs none (and `ratchet check` warns of it)
    nightly = Schedule(cron=("0 2 * * *",))
    assert config.directives == dataclasses.replace(Directives(), schedule=nightly)
    assert config.goals == (
        Goal(
            id="lint-clean",
            description="Remove unused imports and variables, sort imports, use modern syntax.",
            priority=10,
            provider="ruff",
            options={"select": ["F401", "F841", "I", "UP"]},
        ),
        Goal(
            id="format",
            description="Format the code with ruff format.",
            priority=5,
            provider="ruff",
            options={"format": True},
            status="paused",
            metric="-candidate.lint.unformatted",
            done_when="candidate.lint.unformatted == 0",
        ),
    )
    assert [r.id for r in config.rules] == DEFAULT_RULE_IDS
    assert all(r.source.startswith("rules/default.yaml:") for r in config.rules)


def test_rule_source_is_the_line_of_the_rule(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yaml").write_text(
        "version: 1\n"
        "rules:\n"
        "  - id: one\n"
        "    description: d\n"
        "    require: roi > 0.0\n"
        "\n"
        "  - id: two\n"
        "    description: d\n"
        "    require: change.lines < 100\n"
        "    when: goal.id == 'big'\n"
        "    on_fail: review\n"
    )
    one, two = load_rules(tmp_path)
    assert (one.id, one.source, one.on_fail, one.when) == ("one", "rules/a.yaml:3", "reject", None)
    assert (two.id, two.source, two.on_fail, two.when) == (
        "two",
        "rules/a.yaml:7",
        "review",
        "goal.id == 'big'",
    )


def test_rule_files_load_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    for name in ("b.yaml", "a.yaml", "c.yaml"):
        rid = name.removesuffix(".yaml")
        (tmp_path / "rules" / name).write_text(
            f"version: 1\nrules:\n  - {{id: {rid}, description: d, require: 'roi > 0.0'}}\n"
        )
    assert [r.id for r in load_rules(tmp_path)] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("loader", "expected"),
    [
        (load_goals, "goals.yaml:1:1: (file): not found; run `ratchet init` to create it"),
        (
            load_directives,
            "directives.yaml:1:1: (file): not found; run `ratchet init` to create it",
        ),
        (load_rules, "rules/:1:1: (file): not found; run `ratchet init` to create it"),
    ],
)
def test_a_missing_file_says_to_run_init(
    tmp_path: Path, loader: Callable[[Path], object], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        loader(tmp_path)
    assert rendered(info) == [expected]


def test_load_config_reports_the_issues_of_every_file_at_once(tmp_path: Path) -> None:
    (tmp_path / "goals.yaml").write_text("version: 1\ngoals:\n  - {id: a, descripton: d}\n")
    (tmp_path / "directives.yaml").write_text("version: 1\nmerge: yes\n")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.yaml").write_text("version: 1\nrules: [\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert rendered(info) == [
        "goals.yaml:3:5: goals[0].description: missing required key 'description'; "
        "add 'description: ...'",
        "goals.yaml:3:13: goals[0].descripton: unknown key 'descripton'; "
        "did you mean 'description'?",
        "directives.yaml:2:8: merge: invalid value a boolean (true) (valid: auto, review)",
        "rules/x.yaml:3:1: (file): invalid YAML: while parsing a flow node, expected the node "
        "content, but found '<stream end>'; fix the syntax",
    ]
    assert str(info.value).splitlines() == rendered(info)


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    (tmp_path / "goals.yaml").write_bytes(b"version: 1\ngoals: []\n# \xff\n")
    with pytest.raises(ConfigError) as info:
        load_goals(tmp_path)
    assert rendered(info) == [
        "goals.yaml:3:3: (file): not UTF-8 text (invalid start byte, byte 0xff); save it as UTF-8"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\n", Directives()),
        (
            "version: 1\nschedule: {cron: '0 2 * * mon-fri', timezone: Europe/Paris}\n",
            Directives(schedule=Schedule(cron=("0 2 * * mon-fri",), timezone="Europe/Paris")),
        ),
        (
            "version: 1\nschedule: {cron: ['0 2 * * *', '*/15 9-17 * * sat'], "
            "interval_minutes: 30}\n",
            Directives(
                schedule=Schedule(cron=("0 2 * * *", "*/15 9-17 * * sat"), interval_minutes=30.0)
            ),
        ),
        (
            "version: 1\nprovider:\n  name: gemini\n  model: gemini-2.5-flash\n"
            "  options: {api_key: '${GEMINI_API_KEY}', max_tokens: 2000}\n"
            "  fallback: {name: ruff}\n",
            Directives(
                provider=ProviderConfig(
                    name="gemini",
                    model="gemini-2.5-flash",
                    options={"api_key": "${GEMINI_API_KEY}", "max_tokens": 2000},
                    fallback=ProviderConfig(name="ruff"),
                )
            ),
        ),
    ],
)
def test_valid_directives(tmp_path: Path, text: str, expected: Directives) -> None:
    (tmp_path / "directives.yaml").write_text(text)
    assert load_directives(tmp_path) == expected


def test_numbers_reach_float_fields_as_floats(tmp_path: Path) -> None:
    (tmp_path / "directives.yaml").write_text(
        "version: 1\ntimeouts: {tests: 60}\nroi: {coverage: 3}\n"
    )
    directives = load_directives(tmp_path)
    assert isinstance(directives.timeouts.tests, float)
    assert isinstance(directives.roi.coverage, float)


def test_yaml_anchors_and_aliases_are_allowed(tmp_path: Path) -> None:
    (tmp_path / "goals.yaml").write_text(
        "version: 1\n"
        "goals:\n"
        "  - id: a\n"
        "    description: d\n"
        "    scope: &src ['engine/**/*.py']\n"
        "  - id: b\n"
        "    description: e\n"
        "    scope: *src\n"
    )
    a, b = load_goals(tmp_path)
    assert a.scope == b.scope == ("engine/**/*.py",)


def test_fingerprint_changes_with_any_input(tmp_path: Path) -> None:
    init_repo(tmp_path)
    seen = {config_fingerprint(tmp_path)}
    assert config_fingerprint(tmp_path) in seen  # stable
    (tmp_path / "goals.yaml").write_text((tmp_path / "goals.yaml").read_text() + "\n")
    seen.add(config_fingerprint(tmp_path))
    (tmp_path / "rules" / "extra.yaml").write_text("version: 1\nrules: []\n")
    seen.add(config_fingerprint(tmp_path))
    (tmp_path / "rules" / "extra.yaml").rename(tmp_path / "rules" / "extra2.yaml")
    seen.add(config_fingerprint(tmp_path))
    (tmp_path / "directives.yaml").unlink()
    seen.add(config_fingerprint(tmp_path))
    assert len(seen) == 5


# --------------------------------------------------------------------------- yamlpos


def test_every_key_and_value_has_its_position() -> None:
    doc = load_yaml("a: 1\nb:\n  - x\n  - {c: [2]}\n", "f.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": [2]}]}
    assert doc.keys == {
        ("a",): Pos(1, 1),
        ("b",): Pos(2, 1),
        ("b", 1, "c"): Pos(4, 6),
    }
    assert doc.values == {
        (): Pos(1, 1),
        ("a",): Pos(1, 4),
        ("b",): Pos(3, 3),
        ("b", 0): Pos(3, 5),
        ("b", 1): Pos(4, 5),
        ("b", 1, "c"): Pos(4, 9),
        ("b", 1, "c", 0): Pos(4, 10),
    }
    assert doc.value_pos(("b", 1, "missing")) == Pos(4, 5)  # nearest located ancestor


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "(file)"),
        (("goals",), "goals"),
        (("goals", 1, "priority"), "goals[1].priority"),
        (("schedule", "cron", 0), "schedule.cron[0]"),
    ],
)
def test_render_path(path: tuple[str | int, ...], text: str) -> None:
    assert render_path(path) == text


def test_several_documents_are_refused() -> None:
    doc = load_yaml("version: 1\n---\nversion: 1\n", "goals.yaml")
    assert doc.data is None
    assert [i.render() for i in doc.issues] == [
        "goals.yaml:2:1: (file): invalid YAML: expected a single document in the stream, "
        "but found another document; fix the syntax"
    ]


def test_every_duplicate_key_is_reported() -> None:
    doc = load_yaml("a: 1\na: 2\nb: {c: 1, c: 2}\n", "f.yaml")
    assert doc.data == {"a": 1, "b": {"c": 1}}  # the first one wins
    assert [i.render() for i in doc.issues] == [
        "f.yaml:2:1: a: duplicate key 'a' (first at line 1); keep one of them",
        "f.yaml:3:11: b.c: duplicate key 'c' (first at line 3); keep one of them",
    ]


def test_keys_left_empty_mean_empty_lists_and_mappings(tmp_path: Path) -> None:
    (tmp_path / "goals.yaml").write_text(
        "version: 1\ngoals:\n  - id: a\n    description: d\n    scope:\n    options:\n    allow:\n"
    )
    assert load_goals(tmp_path) == (Goal(id="a", description="d"),)
