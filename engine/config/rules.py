"""rules/*.yaml: WHEN a candidate may merge. ``version: 1`` and a list of rules.

Each rule: ``id`` (unique across all rule files), ``description``, ``require`` (a CEL
expression that must be true), optional ``when`` (the rule applies only when true),
``on_fail: reject | review``. ``Rule.source`` records ``rules/<file>.yaml:<line>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.config.checks import expression, slug
from engine.config.schema import (
    INVALID,
    Field,
    Schema,
    check_document,
    list_of,
    nested,
    one_of,
    optional,
    string,
    version_field,
)
from engine.config.yamlpos import YamlDoc
from engine.errors import ConfigIssue
from engine.model import Rule

RULE = Schema(
    target=Rule,
    fields={
        "id": Field(slug(), required=True, example="id: tests-pass"),
        "description": Field(string(), required=True, example="description: ..."),
        "require": Field(expression(), required=True, example="require: <expression>"),
        "when": Field(optional(expression())),
        "on_fail": Field(one_of("reject", "review")),
    },
)

RULES_FILE = Schema(
    fields={
        "version": version_field(),
        "rules": Field(list_of(nested(RULE)), required=True, example="rules: [...]"),
    },
)


def check_rules(doc: YamlDoc) -> tuple[tuple[Rule, ...], list[ConfigIssue]]:
    """The rules of one parsed rule file (``source`` filled in) and its issues."""
    value, issues = check_document(doc, RULES_FILE, "'version: 1' and 'rules: [...]'")
    if value is INVALID:
        return (), issues
    rules = tuple(
        replace(rule, source=f"{doc.file}:{doc.value_pos(('rules', i)).line}")
        for i, rule in enumerate(value["rules"])
    )
    return rules, issues


def duplicate_rule_ids(docs: Sequence[YamlDoc]) -> list[ConfigIssue]:
    """Rule ids used twice, within a file or across files (reported at the second use)."""
    first: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for doc in docs:
        rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            rid = rule.get("id") if isinstance(rule, dict) else None
            if not isinstance(rid, str):
                continue
            pos = doc.value_pos(("rules", i, "id"))
            if rid in first:
                issues.append(
                    ConfigIssue(
                        doc.file,
                        pos.line,
                        pos.col,
                        f"rules[{i}].id",
                        f"duplicate rule id '{rid}' (first at {first[rid]})",
                        "give each rule its own id",
                    )
                )
            else:
                first[rid] = f"{doc.file}:{pos.line}"
    return issues
