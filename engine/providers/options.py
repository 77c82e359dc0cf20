"""Reading ``provider.options`` values at use: typed, finite, in range — or a ConfigError.

``options.timeout: abc`` used to surface as a ``ValueError`` traceback from deep inside a
call, ``timeout: -1`` or ``.nan`` as a hang. Every numeric or boolean option the model
providers read goes through :func:`number` / :func:`flag`, whose error names the field,
the bad value and the accepted range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from engine.errors import ConfigError, ConfigIssue

N = TypeVar("N", int, float)


def number(
    options: Mapping[str, Any],
    key: str,
    default: N,
    *,
    kind: type[N],
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> N:
    """``options[key]`` as ``kind`` (``default`` when absent or null), checked.

    Accepts numbers and numeric strings; refuses booleans, NaN, infinities, floats where
    an int is wanted, and values outside ``[minimum, maximum]`` (``positive``: > 0).
    """
    value = options.get(key)
    if value is None:
        return default
    parsed: float | None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int | float):
        parsed = float(value)
    elif isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            parsed = None
    else:
        parsed = None
    wanted = "an integer" if kind is int else "a number"
    if parsed is None or not math.isfinite(parsed):
        raise _error(key, value, f"must be {wanted}{_range(minimum, maximum, positive)}")
    if kind is int and not parsed.is_integer():
        raise _error(key, value, f"must be {wanted}{_range(minimum, maximum, positive)}")
    out_of_range = (
        (positive and parsed <= 0)
        or (minimum is not None and parsed < minimum)
        or (maximum is not None and parsed > maximum)
    )
    if out_of_range:
        raise _error(key, value, f"must be {wanted}{_range(minimum, maximum, positive)}")
    return kind(parsed)


def flag(options: Mapping[str, Any], key: str, default: bool) -> bool:
    """``options[key]`` as a boolean: true/false only (``"no"`` is not silently true)."""
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    raise _error(key, value, "must be true or false")


def choice(options: Mapping[str, Any], key: str, default: str, choices: Sequence[str]) -> str:
    """``options[key]``, one of ``choices`` (``default`` when absent or null)."""
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, str) and value in choices:
        return value
    raise _error(key, value, f"must be one of: {', '.join(choices)}")


def _range(minimum: float | None, maximum: float | None, positive: bool) -> str:
    if positive and maximum is not None:
        return f" greater than 0 and at most {maximum:g}"
    if positive:
        return " greater than 0"
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f" of at least {minimum:g}"
    return ""


def _error(key: str, value: Any, problem: str) -> ConfigError:
    return ConfigError(
        ConfigIssue(
            "directives.yaml",
            0,
            0,
            f"provider.options.{key}",
            f"{value!r} {problem}",
            f"set provider.options.{key} to a valid value or remove it",
        )
    )
