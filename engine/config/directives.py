"""directives.yaml: HOW ratchet works here (provider, merge mode, limits, schedule, ...).

Keys are the fields of :class:`~engine.model.Directives` (nested mappings for its nested
types); every key is optional except ``version``. Defaults live in the dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from engine.config.checks import cron_problem, is_timezone, provider_options, timezone
from engine.config.goals import PROVIDER_NAMES
from engine.config.schema import (
    INVALID,
    Check,
    Cursor,
    Field,
    Schema,
    check_document,
    integer,
    list_of,
    nested,
    number,
    one_of,
    optional,
    string,
    version_field,
)
from engine.config.yamlpos import YamlDoc
from engine.errors import ConfigIssue
from engine.model import (
    Budgets,
    Directives,
    Identity,
    Limits,
    ProviderConfig,
    RoiWeights,
    Schedule,
    Timeouts,
)

# A branch name git would accept, roughly: no spaces, no "..", no leading "-".
BRANCH = r"(?!-)(?!.*\.\.)[^\s~^:?*\[\\]+"


def _provider(*, fallback: bool) -> Schema:
    spec = {
        "name": Field(one_of(*PROVIDER_NAMES)),
        "model": Field(optional(string())),
        "options": Field(provider_options),
    }
    if fallback:  # one level: a fallback has no fallback of its own
        spec["fallback"] = Field(optional(nested(_provider(fallback=False))))
    return Schema(target=ProviderConfig, fields=spec)


def _check_cron(raw: Mapping[str, Any], given: Mapping[str, Any], cursor: Cursor) -> None:
    crons = given.get("cron", ())
    tz = given.get("timezone", "UTC")
    for i, expr in enumerate(crons):
        problem = cron_problem(expr, tz if is_timezone(tz) else "UTC")
        if problem:
            where = cursor.child("cron")
            where = where.child(i) if isinstance(raw.get("cron"), list) else where
            where.report(problem.problem, problem.fix)


def _flat(cls: type, check: Check) -> Check:
    """A nested mapping whose keys are the fields of ``cls``, all checked by ``check``."""
    return nested(Schema(target=cls, fields={f.name: Field(check) for f in fields(cls)}))


SCHEDULE = Schema(
    target=Schedule,
    fields={
        "cron": Field(list_of(string(), single=True)),
        "timezone": Field(timezone()),
        "interval_minutes": Field(optional(number(positive=True))),
        "on_change": Field(one_of("run", "wait")),
    },
    post=_check_cron,
)

DIRECTIVES_FILE = Schema(
    target=lambda version, **given: Directives(**given),
    fields={
        "version": version_field(),
        "target_branch": Field(optional(string(pattern=BRANCH, what="branch name"))),
        "merge": Field(one_of("auto", "review")),
        "provider": Field(nested(_provider(fallback=True))),
        "test_command": Field(string()),
        "protected_paths": Field(list_of(string())),
        "on_protected": Field(one_of("reject", "review")),
        "timeouts": Field(_flat(Timeouts, number(positive=True))),
        "limits": Field(_flat(Limits, integer(minimum=1))),
        "sandbox": Field(one_of("bwrap", "unsafe-none")),
        "roi": Field(_flat(RoiWeights, number(minimum=0))),
        "budgets": Field(
            nested(
                Schema(
                    target=Budgets,
                    fields={
                        "tokens_per_cycle": Field(optional(integer(minimum=0))),
                        "tokens_per_day": Field(optional(integer(minimum=0))),
                        "usd_per_cycle": Field(optional(number(minimum=0))),
                        "usd_per_day": Field(optional(number(minimum=0))),
                    },
                )
            )
        ),
        "schedule": Field(nested(SCHEDULE)),
        "identity": Field(
            nested(
                Schema(
                    target=Identity,
                    fields={
                        "name": Field(string(pattern=r"[^<>\n]+", what="name")),
                        "email": Field(string(pattern=r"[^<>\s@]+@[^<>\s@]+", what="email")),
                    },
                )
            )
        ),
        "max_review_branches": Field(integer(minimum=0)),
        "flaky_reruns": Field(integer(minimum=0)),
        "context_tokens": Field(integer(minimum=1)),
    },
)


def check_directives(doc: YamlDoc) -> tuple[Directives | None, list[ConfigIssue]]:
    """The Directives of a parsed directives.yaml and its issues (None when any)."""
    value, issues = check_document(doc, DIRECTIVES_FILE, "'version: 1'")
    return (None if value is INVALID else value), issues
