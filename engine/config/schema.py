"""A small declarative schema: field name -> check (+ required), applied to a YamlDoc.

A :class:`Schema` maps each key of a YAML mapping to a :class:`Field`; :func:`parse` walks
the data, reports *every* problem into one issue list (unknown keys with a did-you-mean,
wrong types, bad values, missing required keys) and builds the target frozen dataclass
from the keys that were given, so dataclass defaults stay the single source of defaults.

A check is ``check(value, cursor) -> converted value``. Leaf checks raise :class:`Invalid`
(reported at the value's position); composite checks (lists, nested schemas) report their
children's problems themselves. Either way a subtree with problems yields :data:`INVALID`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.config.yamlpos import KeyPath, YamlDoc, render_path
from engine.errors import ConfigIssue


class _InvalidType:
    """The result of a check that reported a problem (never a legitimate value)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _InvalidType()

Check = Callable[[Any, "Cursor"], Any]


class Invalid(Exception):
    """A leaf value is wrong: ``problem`` says how, ``fix`` what to write instead."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem)


@dataclass
class Cursor:
    """Where we are in a document; all cursors of one parse share ``issues``."""

    doc: YamlDoc
    path: KeyPath = ()
    issues: list[ConfigIssue] = field(default_factory=list)
    warnings: list[ConfigIssue] = field(default_factory=list)

    def child(self, key: str | int) -> Cursor:
        return Cursor(self.doc, (*self.path, key), self.issues, self.warnings)

    def report(self, problem: str, fix: str = "", *, at_key: bool = False) -> None:
        self.issues.append(self._issue(problem, fix, at_key=at_key, warning=False))

    def warn(self, problem: str, fix: str = "", *, at_key: bool = False) -> None:
        """A warning: listed by ``ratchet check``; it does not make the value invalid."""
        self.warnings.append(self._issue(problem, fix, at_key=at_key, warning=True))

    def _issue(self, problem: str, fix: str, *, at_key: bool, warning: bool) -> ConfigIssue:
        pos = self.doc.key_pos(self.path) if at_key else self.doc.value_pos(self.path)
        field_ = render_path(self.path)
        return ConfigIssue(self.doc.file, pos.line, pos.col, field_, problem, fix, warning=warning)


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False
    example: str = ""  # shown when the key is missing: "add 'id: lint-clean'"


@dataclass(frozen=True)
class Schema:
    """Keys of one mapping. ``target`` None builds a plain dict; ``post`` checks across keys."""

    fields: Mapping[str, Field]
    target: Callable[..., Any] | None = None
    post: Callable[[Mapping[str, Any], Mapping[str, Any], Cursor], None] | None = None


def run(check: Check, value: Any, cursor: Cursor) -> Any:
    """Apply ``check``; INVALID if it (or anything below it) reported a problem."""
    before = len(cursor.issues)
    try:
        out = check(value, cursor)
    except Invalid as exc:
        cursor.report(exc.problem, exc.fix)
        return INVALID
    return INVALID if len(cursor.issues) > before else out


def parse(schema: Schema, value: Any, cursor: Cursor) -> Any:
    """Check a mapping against ``schema``; the target object, or INVALID after reporting."""
    if not isinstance(value, dict):
        raise Invalid(f"expected a mapping, got {describe(value)}", "")
    before = len(cursor.issues)
    given: dict[str, Any] = {}
    for key, raw in value.items():
        spec = schema.fields.get(key)
        if spec is None:
            cursor.child(key).report(f"unknown key '{key}'", _suggest(key, schema), at_key=True)
            continue
        out = run(spec.check, raw, cursor.child(key))
        if out is not INVALID:
            given[key] = out
    for name, spec in schema.fields.items():
        if spec.required and name not in value:
            fix = f"add '{spec.example or name + ': ...'}'"
            cursor.child(name).report(f"missing required key '{name}'", fix)
    if schema.post is not None:  # runs even after problems: it sees only the valid keys
        schema.post(value, given, cursor)
    if len(cursor.issues) > before:
        return INVALID
    return schema.target(**given) if schema.target else given


def _suggest(key: str, schema: Schema) -> str:
    valid = list(schema.fields)
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"valid keys: {', '.join(valid)}"


# --------------------------------------------------------------------------- leaf checks


def describe(value: Any) -> str:
    """``'high'`` -> "a string ('high')": how a bad value is named in messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"a string ('{shown}')"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, dt.date | dt.datetime):
        return f"a date ({value})"
    return type(value).__name__


def string(
    *, empty: bool = False, pattern: str | None = None, hint: str = "", what: str = "value"
) -> Check:
    """A string; non-empty unless ``empty``; matching ``pattern`` (full match) if given."""
    compiled = re.compile(pattern) if pattern else None

    def check(value: Any, cursor: Cursor) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected a string, got {describe(value)}", _quote_hint(value))
        if not empty and not value.strip():
            raise Invalid("must not be empty", hint)
        if compiled and not compiled.fullmatch(value):
            raise Invalid(f"invalid {what} '{value}'", hint)
        return value

    return check


def integer(*, minimum: int | None = None, maximum: int | None = None) -> Check:
    """A whole number (not a boolean) within ``[minimum, maximum]``."""

    def check(value: Any, cursor: Cursor) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected a whole number, got {describe(value)}", "")
        _at_least(value, minimum)
        _at_most(value, maximum)
        return value

    return check


def number(
    *, minimum: float | None = None, maximum: float | None = None, positive: bool = False
) -> Check:
    """A finite int or float, returned as float; ``positive`` means strictly greater than 0.

    ``.nan``, ``.inf`` and ``-.inf`` are refused: no setting means "not a number" or
    "forever" (a NaN compares false with everything, so it would disable any bound)."""

    def check(value: Any, cursor: Cursor) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"expected a number, got {describe(value)}", "")
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(f"expected a finite number, got {describe(value)}", "")
        if positive and value <= 0:
            raise Invalid(f"must be greater than 0, got {value}", "")
        _at_least(value, minimum)
        _at_most(value, maximum)
        return float(value)

    return check


def boolean() -> Check:
    def check(value: Any, cursor: Cursor) -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"expected true or false, got {describe(value)}", "")
        return value

    return check


def one_of(*choices: str) -> Check:
    def check(value: Any, cursor: Cursor) -> str:
        if isinstance(value, str) and value in choices:
            return value
        shown = f"'{value}'" if isinstance(value, str) else describe(value)
        close = difflib.get_close_matches(str(value), choices, n=1) if value is not None else []
        fix = f"did you mean '{close[0]}'?" if close else ""
        raise Invalid(f"invalid value {shown} (valid: {', '.join(choices)})", fix)

    return check


def optional(inner: Check) -> Check:
    """``null`` (or the key left out) means "not set"."""

    def check(value: Any, cursor: Cursor) -> Any:
        return None if value is None else inner(value, cursor)

    return check


def list_of(inner: Check, *, single: bool = False) -> Check:
    """A list -> tuple; each item checked at its own position. ``null`` is an empty list;
    with ``single`` a scalar is a one-item list (``cron: "0 2 * * *"``)."""

    def check(value: Any, cursor: Cursor) -> Any:
        if value is None:  # ``scope:`` with nothing after it
            return ()
        if single and not isinstance(value, list | dict):
            return (run(inner, value, cursor),)
        if not isinstance(value, list):
            raise Invalid(f"expected a list, got {describe(value)}", _list_hint(value))
        return tuple(run(inner, item, cursor.child(i)) for i, item in enumerate(value))

    return check


def mapping() -> Check:
    """A free-form mapping (provider options): keys are names, values anything YAML.
    ``null`` is an empty mapping."""

    def check(value: Any, cursor: Cursor) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise Invalid(f"expected a mapping, got {describe(value)}", "")
        return dict(value)

    return check


def nested(schema: Schema) -> Check:
    def check(value: Any, cursor: Cursor) -> Any:
        return parse(schema, value, cursor)

    return check


def constant(expected: Any, fix: str, what: str = "value") -> Check:
    def check(value: Any, cursor: Cursor) -> Any:
        if value != expected or isinstance(value, bool) or type(value) is not type(expected):
            shown = repr(value) if isinstance(value, str | int | float) else describe(value)
            raise Invalid(f"unsupported {what} {shown}", fix)
        return value

    return check


def _at_least(value: float, minimum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise Invalid(f"must be at least {minimum}, got {value}", "")


def _at_most(value: float, maximum: float | None) -> None:
    if maximum is not None and value > maximum:
        shown = value if abs(value) < 1e15 else f"{value:.3g}"
        raise Invalid(f"must be at most {maximum:g}, got {shown}", "")


def _quote_hint(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return "quote it to make it a string"
    return ""


def _list_hint(value: Any) -> str:
    if isinstance(value, str):
        return f"write a list: ['{value}']"
    return ""


def check_document(doc: YamlDoc, schema: Schema, example: str) -> tuple[Any, list[ConfigIssue]]:
    """Apply ``schema`` to a whole file; ``(value or INVALID, issues sorted by position)``.

    The errors come first, then the warnings (``ConfigIssue.warning``); warnings alone
    leave the value valid.

    ``example`` is what an empty file should contain, for the message.
    """
    cursor = Cursor(doc, (), list(doc.issues))
    if doc.data is None:
        if not doc.issues:
            cursor.report("the file is empty", f"start it with: {example}")
        return INVALID, cursor.issues
    value = run(nested(schema), doc.data, cursor)
    issues = sorted(cursor.issues, key=lambda i: (i.line, i.col))
    warnings = sorted(cursor.warnings, key=lambda i: (i.line, i.col))
    return (INVALID if issues else value), issues + warnings


def version_field() -> Field:
    check = constant(1, "this ratchet reads 'version: 1'", what="version")
    return Field(check, required=True, example="version: 1")
