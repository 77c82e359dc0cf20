"""Domain checks for the schema: ids, CEL expressions, time zones, crontab lines, secrets.

Each is a schema check (see ``config.schema``): it returns the value or raises ``Invalid``.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Iterable
from typing import Any

from engine.config.schema import Check, Cursor, Invalid, describe, mapping, string
from engine.gate.policy.context import unknown_paths
from engine.gate.policy.expr import ROOTS, ExprSyntaxError, compile_expr
from engine.gate.policy.types import Kind, type_problems

SLUG = r"[a-z0-9][a-z0-9-]{0,62}"
SLUG_HINT = "use lowercase letters, digits and '-', starting with a letter or digit (max 63)"

# Option names that would hold a credential. Secrets come from the environment: a value
# must be a ``${VAR}`` reference, never the secret itself.
_SECRET_KEY = re.compile(
    r"(?i)^(?:.*[_-])?(?:api[_-]?key|secret|password)$|^(?:(?:access|auth|bearer|api)[_-]?)?token$"
)
_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_DAY_NAMES = "sun, mon, tue, wed, thu, fri, sat"


def slug() -> Check:
    return string(pattern=SLUG, hint=SLUG_HINT, what="id")


_TYPE_FIX = (
    "CEL never converts: compare numbers with numbers, strings with strings, "
    "and write doubles as 1.0"
)


def expression(roots: Iterable[str] = ROOTS, *, kind: Kind = "bool") -> Check:
    """A CEL expression that compiles, reads only known roots and fields, and type-checks
    against the metric schema with a result of ``kind`` (see ``gate.policy.types``)."""
    allowed = tuple(roots)

    def check(value: Any, cursor: Cursor) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"expected an expression (a string), got {describe(value)}", "")
        try:
            compiled = compile_expr(value, roots=allowed)
        except ExprSyntaxError as exc:
            unknown = "unknown name" in str(exc) and "did you mean" not in str(exc)
            fix = f"names available: {', '.join(allowed)}" if unknown else ""
            raise Invalid(f"invalid expression: {exc}", fix) from None
        problems = unknown_paths(compiled)
        if problems:
            raise Invalid(f"invalid expression: {problems[0]}", "")
        typed = type_problems(compiled, kind)
        if typed:
            fix = _TYPE_FIX if typed[0].startswith(("type error", "==", "!=")) else ""
            raise Invalid(f"invalid expression: {typed[0]}", fix)
        return value

    return check


def allow_entry() -> Check:
    """One name in a goal's ``allow`` list: a guard id or alias must be a known, allowable
    guard (the registry lists the valid ones); other names are allowances rules read."""

    def check(value: Any, cursor: Cursor) -> str:
        from engine.gate.guards.registry import allow_problem  # the gate's own table

        text = string()(value, cursor)
        problem = allow_problem(text)
        if problem is not None:
            raise Invalid(*problem)
        return text

    return check


def timezone() -> Check:
    def check(value: Any, cursor: Cursor) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"expected a time zone name, got {describe(value)}", "e.g. 'UTC'")
        if not is_timezone(value):
            close = difflib.get_close_matches(value, _zones(), n=1)
            fix = f"did you mean '{close[0]}'?" if close else "use an IANA name like 'UTC'"
            raise Invalid(f"unknown time zone '{value}'", fix)
        return value

    return check


def cron_problem(expr: str, tz: str) -> Invalid | None:
    """Why ``expr`` is not a usable crontab line in ``tz`` (APScheduler 3.x), or None."""
    from apscheduler.triggers.cron import CronTrigger  # import cost only when scheduling

    parts = expr.split()
    # APScheduler 3.x numbers weekdays from Monday = 0, crontab from Sunday = 0: a number
    # here would silently run on the wrong day, so only names are accepted.
    if len(parts) == 5 and re.search(r"\d", parts[4]):
        return Invalid(
            f"invalid cron '{expr}': day-of-week must use names, not numbers",
            f"write e.g. 'mon-fri' or 'sun' ({_DAY_NAMES})",
        )
    try:
        CronTrigger.from_crontab(expr, timezone=tz)
    except (ValueError, LookupError) as exc:
        return Invalid(
            f"invalid cron '{expr}': {exc}",
            "use 5 fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'",
        )
    return None


def provider_options(value: Any, cursor: Cursor) -> dict[str, Any]:
    """Free-form provider options, except that secrets must be ``${VAR}`` references."""
    options: dict[str, Any] = mapping()(value, cursor)
    no_literal_secrets(options, cursor)
    return options


def no_literal_secrets(value: dict[str, Any], cursor: Cursor) -> None:
    """Report options whose name says "secret" and whose value is not a ``${VAR}``."""
    for key, item in value.items():
        if _SECRET_KEY.match(str(key)) and not (
            isinstance(item, str) and _ENV_REF.fullmatch(item.strip())
        ):
            cursor.child(key).report(
                f"'{key}' looks like a secret written into the file",
                f"set it in the environment and write '{key}: ${{VAR_NAME}}'",
            )


def is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


@functools.cache
def _zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())
