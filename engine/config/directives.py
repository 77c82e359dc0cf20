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
from engine.config.options import PROVIDER_OPTIONS, check_options
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
from engine.gate.executor import RAY_INSTALL
from engine.model import (
    AuditSchedule,
    Budgets,
    Directives,
    Executor,
    Identity,
    Limits,
    ProviderConfig,
    Push,
    RoiWeights,
    Schedule,
    Timeouts,
)

_WEEK = 7 * 86_400.0  # the longest timeout accepted, in seconds
_HUGE = 1 << 20  # the largest resource limit accepted (MB, seconds, files, lines, KB)

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
    return Schema(target=ProviderConfig, fields=spec, post=_check_provider_options)


def _check_provider_options(
    raw: Mapping[str, Any], given: Mapping[str, Any], cursor: Cursor
) -> None:
    if "name" in raw and "name" not in given:
        return  # an invalid name has been reported already
    name = given.get("name", "auto")
    known = PROVIDER_OPTIONS.get(name)
    if known is not None:
        check_options(raw.get("options"), cursor.child("options"), known, f"the {name} provider")


def _check_schedule(raw: Mapping[str, Any], given: Mapping[str, Any], cursor: Cursor) -> None:
    _check_cron(raw, given, cursor)
    idle = not given.get("cron") and given.get("interval_minutes") is None
    if idle and given.get("on_change", "wait") == "wait":
        _nothing_schedules(cursor)


def _nothing_schedules(cursor: Cursor) -> None:
    cursor.warn(
        "nothing schedules cycles: no cron, no interval_minutes, and on_change is 'wait'",
        "a daemon would sit idle: add 'cron: \"0 2 * * *\"', 'interval_minutes: 60' or "
        "'on_change: run'",
    )


def _check_file(raw: Mapping[str, Any], given: Mapping[str, Any], cursor: Cursor) -> None:
    if "schedule" not in raw:
        _nothing_schedules(cursor.child("schedule"))


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
        "interval_minutes": Field(optional(number(positive=True, maximum=_WEEK / 60))),
        "on_change": Field(one_of("run", "wait")),
    },
    post=_check_schedule,
)

AUDIT = Schema(
    target=AuditSchedule,
    fields={
        "cron": Field(list_of(string(), single=True), required=True, example='cron: "0 3 * * sun"'),
        "timezone": Field(timezone()),
    },
    post=_check_cron,
)

MAX_WORKERS = 64  # candidates evaluated at once; more would mostly wait on git and the lock


def ray_installed() -> bool:
    """Whether ``import ray`` would find a package (without importing it: seconds)."""
    import importlib.util

    try:
        return importlib.util.find_spec("ray") is not None
    except ValueError:  # a ``ray`` module without a spec (None in sys.modules)
        return False


def _check_executor(raw: Mapping[str, Any], given: Mapping[str, Any], cursor: Cursor) -> None:
    kind = given.get("kind", "local")
    if kind == "ray" and not ray_installed():
        cursor.child("kind").report(
            "Ray is not installed here",
            f"install it with: {RAY_INSTALL} (or set 'kind: local')",
        )
    if kind == "local" and given.get("address"):
        cursor.child("address").report(
            "an address only means something for 'kind: ray'",
            "remove 'address' or set 'kind: ray'",
        )


_ADDRESS_FIX = "write 'auto', 'HOST:PORT' (the head node's GCS port) or 'ray://HOST:PORT'"

EXECUTOR = Schema(
    target=Executor,
    fields={
        "kind": Field(one_of("local", "ray")),
        "address": Field(
            optional(
                string(
                    pattern=r"(auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:\d+)",
                    what="address",
                    hint=_ADDRESS_FIX,
                )
            )
        ),
    },
    post=_check_executor,
)

# A git remote name: what `git remote add NAME` accepts, roughly; never an option or a URL.
REMOTE = r"(?!-)[A-Za-z0-9._-]+"

PUSH = Schema(
    target=Push,
    fields={
        "remote": Field(
            string(pattern=REMOTE, what="git remote name", hint="a name from `git remote`"),
            required=True,
            example="remote: origin",
        ),
        "branches": Field(one_of("review", "merged", "all")),
        "pull_requests": Field(one_of("auto", "off")),
    },
)

DIRECTIVES_FILE = Schema(
    target=lambda version, **given: Directives(**given),
    post=_check_file,
    fields={
        "version": version_field(),
        "target_branch": Field(optional(string(pattern=BRANCH, what="branch name"))),
        "merge": Field(one_of("auto", "review")),
        "provider": Field(nested(_provider(fallback=True))),
        "test_command": Field(string()),
        "protected_paths": Field(list_of(string())),
        "on_protected": Field(one_of("reject", "review")),
        "timeouts": Field(_flat(Timeouts, number(positive=True, maximum=_WEEK))),
        "limits": Field(_flat(Limits, integer(minimum=1, maximum=_HUGE))),
        "sandbox": Field(one_of("bwrap", "unsafe-none")),
        "roi": Field(_flat(RoiWeights, number(minimum=0, maximum=1e6))),
        "budgets": Field(
            nested(
                Schema(
                    target=Budgets,
                    fields={
                        "tokens_per_cycle": Field(optional(integer(minimum=0, maximum=10**12))),
                        "tokens_per_day": Field(optional(integer(minimum=0, maximum=10**12))),
                        "usd_per_cycle": Field(optional(number(minimum=0, maximum=1e6))),
                        "usd_per_day": Field(optional(number(minimum=0, maximum=1e6))),
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
        "max_review_branches": Field(integer(minimum=0, maximum=1000)),
        "push": Field(optional(nested(PUSH))),
        "flaky_reruns": Field(integer(minimum=0, maximum=10)),
        "context_tokens": Field(integer(minimum=1, maximum=2_000_000)),
        "workers": Field(integer(minimum=1, maximum=MAX_WORKERS)),
        "executor": Field(nested(EXECUTOR)),
        "audit": Field(optional(nested(AUDIT))),
    },
)


def check_directives(doc: YamlDoc) -> tuple[Directives | None, list[ConfigIssue]]:
    """The Directives of a parsed directives.yaml and its issues (None when any)."""
    value, issues = check_document(doc, DIRECTIVES_FILE, "'version: 1'")
    return (None if value is INVALID else value), issues
