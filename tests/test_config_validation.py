"""Every validator fed bad input: the exact rendered message (file:line:col: field: ...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_directives, load_goals, load_rules
from engine.errors import ConfigError

GOAL_OK = "version: 1\ngoals:\n  - id: g\n    description: d\n"


def goals_error(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "goals.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_goals(tmp_path)
    return [issue.render() for issue in info.value.issues]


def directives_error(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "directives.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_directives(tmp_path)
    return [issue.render() for issue in info.value.issues]


def rules_error(tmp_path: Path, files: dict[str, str]) -> list[str]:
    (tmp_path / "rules").mkdir()
    for name, text in files.items():
        (tmp_path / "rules" / name).write_text(text)
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path)
    return [issue.render() for issue in info.value.issues]


def goal(extra: str) -> str:
    """goals.yaml with one goal; ``extra`` lines start at line 5, column 5."""
    return GOAL_OK + "".join(f"    {line}\n" for line in extra.splitlines())


# --------------------------------------------------------------------------- goals.yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            goal("priorty: 3"),
            "goals.yaml:5:5: goals[0].priorty: unknown key 'priorty'; did you mean 'priority'?",
        ),
        (
            goal("zzz: 3"),
            "goals.yaml:5:5: goals[0].zzz: unknown key 'zzz'; valid keys: id, description, "
            "priority, scope, provider, options, max_attempts, status, done_when, allow, metric, "
            "behaviour, answers",
        ),
        (
            goal("answers: {0: only the parser}"),
            "goals.yaml:5:15: goals[0].answers.0: '0' is not a question number; use the number "
            "from memory-bank/questions.md or `ratchet status`",
        ),
        (
            goal('answers: {1: ""}'),
            "goals.yaml:5:18: goals[0].answers.1: the answer must be non-empty text; write the "
            "answer as a string",
        ),
        (
            goal("answers: [1]"),
            "goals.yaml:5:14: goals[0].answers: expected a mapping of question numbers to "
            'answers, got a list; write e.g. answers: {1: "only the parser module"}',
        ),
        (
            goal("priority: high"),
            "goals.yaml:5:15: goals[0].priority: expected a whole number, got a string ('high')",
        ),
        (
            goal("priority: 1.5"),
            "goals.yaml:5:15: goals[0].priority: expected a whole number, got a number (1.5)",
        ),
        (
            goal("max_attempts: 0"),
            "goals.yaml:5:19: goals[0].max_attempts: must be at least 1, got 0",
        ),
        (
            goal("status: pausd"),
            "goals.yaml:5:13: goals[0].status: invalid value 'pausd' "
            "(valid: active, paused, done); did you mean 'paused'?",
        ),
        (
            goal("provider: gemni"),
            "goals.yaml:5:15: goals[0].provider: invalid value 'gemni' (valid: auto, ruff, "
            "scripted, gemini, openai_compat, local); did you mean 'gemini'?",
        ),
        (
            goal("provider: 3"),
            "goals.yaml:5:15: goals[0].provider: invalid value an integer (3) (valid: auto, "
            "ruff, scripted, gemini, openai_compat, local)",
        ),
        (
            goal("scope: engine/"),
            "goals.yaml:5:12: goals[0].scope: expected a list, got a string ('engine/'); "
            "write a list: ['engine/']",
        ),
        (
            goal("scope: ['../x/*.py']"),
            "goals.yaml:5:13: goals[0].scope[0]: scope pattern '../x/*.py' leaves the "
            "repository; use a repo-relative glob",
        ),
        (
            goal("scope: [3]"),
            "goals.yaml:5:13: goals[0].scope[0]: expected a string, got an integer (3); "
            "quote it to make it a string",
        ),
        (
            goal("options: [1]"),
            "goals.yaml:5:14: goals[0].options: expected a mapping, got a list",
        ),
        (
            goal("options: {token: abc}"),
            "goals.yaml:5:22: goals[0].options.token: 'token' looks like a secret written into "
            "the file; set it in the environment and write 'token: ${VAR_NAME}'",
        ),
        (
            goal("allow: complexity-increase"),
            "goals.yaml:5:12: goals[0].allow: expected a list, got a string "
            "('complexity-increase'); write a list: ['complexity-increase']",
        ),
        (
            goal("done_when: candidate.lint.violations =="),
            "goals.yaml:5:16: goals[0].done_when: invalid expression: syntax error at 1:29: "
            "the expression ends too early",
        ),
        (
            goal("done_when: candidat.lint.violations == 0"),
            "goals.yaml:5:16: goals[0].done_when: invalid expression: unknown name "
            "'candidat'; did you mean 'candidate'?",
        ),
        (
            goal("done_when: tests.failed == 0"),
            "goals.yaml:5:16: goals[0].done_when: invalid expression: unknown name 'tests'; "
            "names available: baseline, candidate, delta, change, goal, cost, roi",
        ),
        (
            goal("done_when: candidate.lnt.violations == 0"),
            "goals.yaml:5:16: goals[0].done_when: invalid expression: no field "
            "'candidate.lnt' (candidate has: behaviour, commit, complexity, coverage, "
            "diff_coverage, goal, lint, notes, sandbox, seconds, security, tests); did you mean "
            "'candidate.lint'?",
        ),
        (
            goal("done_when: 3"),
            "goals.yaml:5:16: goals[0].done_when: expected an expression (a string), got an "
            "integer (3)",
        ),
        (
            goal("metric: roi * 2.0"),
            "goals.yaml:5:13: goals[0].metric: invalid expression: unknown name 'roi'; "
            "names available: candidate, goal",
        ),
    ],
)
def test_goal_field_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert goals_error(tmp_path, text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            [
                "goals.yaml:1:1: (file): the file is empty; start it with: 'version: 1' and "
                "'goals: [...]'"
            ],
        ),
        (
            "goals: []\n",
            ["goals.yaml:1:1: version: missing required key 'version'; add 'version: 1'"],
        ),
        (
            "version: 2\ngoals: []\n",
            ["goals.yaml:1:10: version: unsupported version 2; this ratchet reads 'version: 1'"],
        ),
        (
            "version: '1'\ngoals: []\n",
            ["goals.yaml:1:10: version: unsupported version '1'; this ratchet reads 'version: 1'"],
        ),
        ("version: 1\n", ["goals.yaml:1:1: goals: missing required key 'goals'; add 'goals: []'"]),
        ("version: 1\ngoals: {}\n", ["goals.yaml:2:8: goals: expected a list, got a mapping"]),
        ("- 1\n", ["goals.yaml:1:1: (file): expected a mapping, got a list"]),
        (
            "version: 1\ngoals:\n  - description: d\n",
            ["goals.yaml:3:5: goals[0].id: missing required key 'id'; add 'id: lint-clean'"],
        ),
        (
            "version: 1\ngoals:\n  - {id: Lint_Clean, description: d}\n",
            [
                "goals.yaml:3:10: goals[0].id: invalid id 'Lint_Clean'; use lowercase letters, "
                "digits and '-', starting with a letter or digit (max 63)"
            ],
        ),
        (
            "version: 1\ngoals:\n  - {id: '-x', description: d}\n",
            [
                "goals.yaml:3:10: goals[0].id: invalid id '-x'; use lowercase letters, "
                "digits and '-', starting with a letter or digit (max 63)"
            ],
        ),
        (
            "version: 1\ngoals:\n  - {id: " + "a" * 64 + ", description: d}\n",
            [
                f"goals.yaml:3:10: goals[0].id: invalid id '{'a' * 64}'; use lowercase letters, "
                "digits and '-', starting with a letter or digit (max 63)"
            ],
        ),
        (
            "version: 1\ngoals:\n  - {id: a, description: '  '}\n",
            ["goals.yaml:3:26: goals[0].description: must not be empty"],
        ),
        (
            "version: 1\ngoals:\n  - {id: a, description: d}\n  - {id: a, description: e}\n",
            [
                "goals.yaml:4:10: goals[1].id: duplicate goal id 'a' (first at line 3); "
                "give each goal its own id"
            ],
        ),
        (
            "version: 1\ngoals:\n  - id: a\n    id: b\n    description: d\n",
            ["goals.yaml:4:5: goals[0].id: duplicate key 'id' (first at line 3); keep one of them"],
        ),
        (
            "version: 1\ngoals: [\n",
            [
                "goals.yaml:3:1: (file): invalid YAML: while parsing a flow node, expected the "
                "node content, but found '<stream end>'; fix the syntax"
            ],
        ),
        (
            "version: 1\n\tgoals: []\n",
            [
                "goals.yaml:2:1: (file): invalid YAML: while scanning for the next token, found "
                "character '\\t' that cannot start any token; indent with spaces, not tabs"
            ],
        ),
        (
            "version: 1\ngoals: !!python/object:os.system []\n",
            [
                "goals.yaml:2:8: goals: unsupported YAML tag "
                "'tag:yaml.org,2002:python/object:os.system'; remove it"
            ],
        ),
    ],
)
def test_goals_file_errors(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert goals_error(tmp_path, text) == expected


def test_all_issues_of_a_file_are_collected_in_order(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "goals:\n"
        "  - id: a\n"
        "    description: d\n"
        "    priorty: 1\n"
        "  - id: B\n"
        "    description: e\n"
        "    status: gone\n"
        "extra: 1\n"
    )
    assert goals_error(tmp_path, text) == [
        "goals.yaml:5:5: goals[0].priorty: unknown key 'priorty'; did you mean 'priority'?",
        "goals.yaml:6:9: goals[1].id: invalid id 'B'; use lowercase letters, digits and '-', "
        "starting with a letter or digit (max 63)",
        "goals.yaml:8:13: goals[1].status: invalid value 'gone' (valid: active, paused, done); "
        "did you mean 'done'?",
        "goals.yaml:9:1: extra: unknown key 'extra'; valid keys: version, goals",
    ]


# --------------------------------------------------------------------------- directives.yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("merge: fast", "directives.yaml:2:8: merge: invalid value 'fast' (valid: auto, review)"),
        (
            "merge: reveiw",
            "directives.yaml:2:8: merge: invalid value 'reveiw' (valid: auto, "
            "review); did you mean 'review'?",
        ),
        ("mege: auto", "directives.yaml:2:1: mege: unknown key 'mege'; did you mean 'merge'?"),
        (
            "provider: {name: gpt}",
            "directives.yaml:2:18: provider.name: invalid value 'gpt' "
            "(valid: auto, ruff, scripted, gemini, openai_compat, local)",
        ),
        (
            "provider: {nmae: ruff}",
            "directives.yaml:2:12: provider.nmae: unknown key 'nmae'; did you mean 'name'?",
        ),
        (
            "provider: {model: 3}",
            "directives.yaml:2:19: provider.model: expected a string, "
            "got an integer (3); quote it to make it a string",
        ),
        (
            "provider: {options: {api_key: sk-123}}",
            "directives.yaml:2:31: "
            "provider.options.api_key: 'api_key' looks like a secret written into the file; set "
            "it in the environment and write 'api_key: ${VAR_NAME}'",
        ),
        (
            "provider: {fallback: {name: ruff, fallback: {name: local}}}",
            "directives.yaml:2:35: provider.fallback.fallback: unknown key 'fallback'; "
            "valid keys: name, model, options",
        ),
        (
            "provider: {fallback: {name: locl}}",
            "directives.yaml:2:29: provider.fallback.name: "
            "invalid value 'locl' (valid: auto, ruff, scripted, gemini, openai_compat, local); "
            "did you mean 'local'?",
        ),
        ("test_command: ''", "directives.yaml:2:15: test_command: must not be empty"),
        (
            "target_branch: 'my branch'",
            "directives.yaml:2:16: target_branch: invalid branch name 'my branch'",
        ),
        ("target_branch: '-x'", "directives.yaml:2:16: target_branch: invalid branch name '-x'"),
        (
            "protected_paths: secrets/",
            "directives.yaml:2:18: protected_paths: expected a list, "
            "got a string ('secrets/'); write a list: ['secrets/']",
        ),
        (
            "on_protected: ignore",
            "directives.yaml:2:15: on_protected: invalid value 'ignore' (valid: reject, review)",
        ),
        (
            "sandbox: none",
            "directives.yaml:2:10: sandbox: invalid value 'none' (valid: bwrap, unsafe-none)",
        ),
        (
            "timeouts: {tests: -5}",
            "directives.yaml:2:19: timeouts.tests: must be greater than 0, got -5",
        ),
        (
            "timeouts: {provider: 0}",
            "directives.yaml:2:22: timeouts.provider: must be greater than 0, got 0",
        ),
        (
            "timeouts: {cycle: soon}",
            "directives.yaml:2:19: timeouts.cycle: expected a number, got a string ('soon')",
        ),
        (
            "timeouts: {test: 5}",
            "directives.yaml:2:12: timeouts.test: unknown key 'test'; did you mean 'tests'?",
        ),
        (
            "limits: {memory_mb: 0}",
            "directives.yaml:2:21: limits.memory_mb: must be at least 1, got 0",
        ),
        (
            "limits: {open_files: 1.5}",
            "directives.yaml:2:22: limits.open_files: expected a whole number, got a number (1.5)",
        ),
        (
            "limits: {processes: true}",
            "directives.yaml:2:21: limits.processes: expected a whole number, got a boolean (true)",
        ),
        ("roi: {coverage: -1}", "directives.yaml:2:17: roi.coverage: must be at least 0, got -1"),
        (
            "roi: {speed: 1}",
            "directives.yaml:2:7: roi.speed: unknown key 'speed'; valid keys: "
            "complexity, coverage, lint, goal, tests",
        ),
        (
            "budgets: {usd_per_day: -0.5}",
            "directives.yaml:2:24: budgets.usd_per_day: must be at least 0, got -0.5",
        ),
        (
            "budgets: {tokens_per_cycle: 1.5}",
            "directives.yaml:2:29: budgets.tokens_per_cycle: "
            "expected a whole number, got a number (1.5)",
        ),
        (
            "schedule: {cron: '0 2 * *'}",
            "directives.yaml:2:18: schedule.cron: invalid cron "
            "'0 2 * *': Wrong number of fields; got 4, expected 5; use 5 fields: minute hour "
            "day-of-month month day-of-week, e.g. '0 2 * * *'",
        ),
        (
            "schedule: {cron: ['0 2 * * *', '61 * * * *']}",
            "directives.yaml:2:32: "
            "schedule.cron[1]: invalid cron '61 * * * *': Error validating expression '61': the "
            "last value (61) is higher than the maximum value (59); use 5 fields: minute hour "
            "day-of-month month day-of-week, e.g. '0 2 * * *'",
        ),
        (
            "schedule: {cron: '0 2 * * 0'}",
            "directives.yaml:2:18: schedule.cron: invalid cron "
            "'0 2 * * 0': day-of-week must use names, not numbers; write e.g. 'mon-fri' or 'sun' "
            "(sun, mon, tue, wed, thu, fri, sat)",
        ),
        (
            "schedule: {cron: {daily: 1}}",
            "directives.yaml:2:18: schedule.cron: expected a list, got a mapping",
        ),
        (
            "schedule: {timezone: Europe/Pariss}",
            "directives.yaml:2:22: schedule.timezone: "
            "unknown time zone 'Europe/Pariss'; did you mean 'Europe/Paris'?",
        ),
        (
            "schedule: {timezone: Nowhere}",
            "directives.yaml:2:22: schedule.timezone: unknown "
            "time zone 'Nowhere'; use an IANA name like 'UTC'",
        ),
        (
            "schedule: {interval_minutes: 0}",
            "directives.yaml:2:30: schedule.interval_minutes: must be greater than 0, got 0",
        ),
        (
            "schedule: {on_change: now}",
            "directives.yaml:2:23: schedule.on_change: invalid value 'now' (valid: run, wait)",
        ),
        ("identity: {email: bot}", "directives.yaml:2:19: identity.email: invalid email 'bot'"),
        ("identity: {name: '<bot>'}", "directives.yaml:2:18: identity.name: invalid name '<bot>'"),
        (
            "max_review_branches: -1",
            "directives.yaml:2:22: max_review_branches: must be at least 0, got -1",
        ),
        (
            "flaky_reruns: x",
            "directives.yaml:2:15: flaky_reruns: expected a whole number, got a string ('x')",
        ),
        ("context_tokens: 0", "directives.yaml:2:17: context_tokens: must be at least 1, got 0"),
        ("workers: 0", "directives.yaml:2:10: workers: must be at least 1, got 0"),
        ("workers: 65", "directives.yaml:2:10: workers: must be at most 64, got 65"),
        (
            "audit: {cron: '0 3 * * 0'}",
            "directives.yaml:2:15: audit.cron: invalid cron '0 3 * * 0': day-of-week must use "
            "names, not numbers; write e.g. 'mon-fri' or 'sun' (sun, mon, tue, wed, thu, fri, sat)",
        ),
        (
            "audit: {timezone: UTC}",
            "directives.yaml:2:8: audit.cron: missing required key 'cron'; add "
            "'cron: \"0 3 * * sun\"'",
        ),
        (
            "audit: {cron: '0 3 * * sun', timezone: Mars/Base}",
            "directives.yaml:2:40: audit.timezone: unknown time zone 'Mars/Base'; use an IANA "
            "name like 'UTC'",
        ),
        (
            "executor: {kind: slurm}",
            "directives.yaml:2:18: executor.kind: invalid value 'slurm' (valid: local, ray)",
        ),
        (
            "executor: {kind: ray, address: 'http://x'}",
            "directives.yaml:2:32: executor.address: invalid address 'http://x'; write 'auto', "
            "'HOST:PORT' (the head node's GCS port) or 'ray://HOST:PORT'",
        ),
        (
            "executor: {address: '10.0.0.1:6379'}",
            "directives.yaml:2:21: executor.address: an address only means something for "
            "'kind: ray'; remove 'address' or set 'kind: ray'",
        ),
        (
            "executor: {kind: ray, adress: auto}",
            "directives.yaml:2:23: executor.adress: unknown key 'adress'; did you mean 'address'?",
        ),
        (
            "push: {remote: --upload-pack=x}",
            "directives.yaml:2:16: push.remote: invalid git remote name '--upload-pack=x'; "
            "a name from `git remote`",
        ),
        (
            "push: {remote: origin, branches: some}",
            "directives.yaml:2:34: push.branches: invalid value 'some' "
            "(valid: review, merged, all)",
        ),
        (
            "push: {branches: all}",
            "directives.yaml:2:7: push.remote: missing required key 'remote'; add 'remote: origin'",
        ),
        (
            "push: {remote: origin, pull_request: off}",
            "directives.yaml:2:24: push.pull_request: unknown key 'pull_request'; "
            "did you mean 'pull_requests'?",
        ),
    ],
)
def test_directive_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert directives_error(tmp_path, "version: 1\n" + text + "\n") == [expected]


def test_directives_version_is_required(tmp_path: Path) -> None:
    assert directives_error(tmp_path, "merge: auto\n") == [
        "directives.yaml:1:1: version: missing required key 'version'; add 'version: 1'"
    ]


def test_cron_is_checked_in_a_valid_timezone_even_when_the_timezone_is_wrong(
    tmp_path: Path,
) -> None:
    text = "version: 1\nschedule:\n  cron: 'x 2 * * *'\n  timezone: Mars/Olympus\n"
    assert directives_error(tmp_path, text) == [
        "directives.yaml:3:9: schedule.cron: invalid cron 'x 2 * * *': Unrecognized "
        'expression "x" for field "minute"; use 5 fields: '
        "minute hour day-of-month month day-of-week, e.g. '0 2 * * *'",
        "directives.yaml:4:13: schedule.timezone: unknown time zone 'Mars/Olympus'; use an "
        "IANA name like 'UTC'",
    ]


# --------------------------------------------------------------------------- rules/*.yaml

RULE_HEAD = "version: 1\nrules:\n  - id: r\n    description: d\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            RULE_HEAD + "    require: roi > 0.0\n    on_fail: warn\n",
            "rules/a.yaml:6:14: rules[0].on_fail: invalid value 'warn' (valid: reject, review)",
        ),
        (
            RULE_HEAD,
            "rules/a.yaml:3:5: rules[0].require: missing required key 'require'; "
            "add 'require: <expression>'",
        ),
        (
            RULE_HEAD + "    require: roi >\n",
            "rules/a.yaml:5:14: rules[0].require: invalid expression: syntax error at 1:6: "
            "the expression ends too early",
        ),
        (
            RULE_HEAD + "    require: 'roi > 0.0 &&& true'\n",
            "rules/a.yaml:5:14: rules[0].require: invalid expression: syntax error at 1:13: "
            "token recognition error at: '& '",
        ),
        (
            RULE_HEAD + "    require: candidate.tests.passed > 0\n    when: chnage.empty\n",
            "rules/a.yaml:6:11: rules[0].when: invalid expression: unknown name 'chnage'; "
            "did you mean 'change'?",
        ),
        (
            RULE_HEAD + "    require: max(roi, 1) > 0\n",
            "rules/a.yaml:5:14: rules[0].require: invalid expression: unknown function 'max'",
        ),
        (
            RULE_HEAD + "    require: change.files.count > 0\n",
            "rules/a.yaml:5:14: rules[0].require: invalid expression: 'change.files' is a "
            "list; it has no field 'count'",
        ),
        (
            RULE_HEAD + "    require: roi > 0\n    severity: high\n",
            "rules/a.yaml:6:5: rules[0].severity: unknown key 'severity'; valid keys: id, "
            "description, require, when, on_fail",
        ),
        (
            "version: 1\nrules: []\nrule: []\n",
            "rules/a.yaml:3:1: rule: unknown key 'rule'; did you mean 'rules'?",
        ),
    ],
)
def test_rule_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert rules_error(tmp_path, {"a.yaml": text}) == [expected]


def test_rule_ids_are_unique_across_files(tmp_path: Path) -> None:
    one = RULE_HEAD + "    require: roi > 0.0\n"
    assert rules_error(tmp_path, {"a.yaml": one, "b.yaml": one}) == [
        "rules/b.yaml:3:9: rules[0].id: duplicate rule id 'r' (first at rules/a.yaml:3); "
        "give each rule its own id"
    ]


def test_no_rules_at_all_is_an_error(tmp_path: Path) -> None:
    assert rules_error(tmp_path, {"a.yaml": "version: 1\nrules: []\n"}) == [
        "rules/:1:1: rules: no rules: every candidate would merge unchecked; add a rule file, "
        "or run `ratchet init` to write rules/default.yaml"
    ]


def test_a_yml_file_is_reported_not_silently_ignored(tmp_path: Path) -> None:
    ok = RULE_HEAD + "    require: roi > 0.0\n"
    assert rules_error(tmp_path, {"a.yaml": ok, "extra.yml": ok}) == [
        "rules/extra.yml:1:1: (file): ignored: rule files must end in .yaml; "
        "rename it to extra.yaml"
    ]
