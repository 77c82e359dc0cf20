"""The map that rule expressions see, and a load-time check of the paths they read.

Roots (all plain dicts/lists/numbers, built with :func:`engine.model.to_data`):

- ``baseline``, ``candidate``: :class:`~engine.model.Metrics` of the target tip and of the
  candidate (``candidate.tests.failed``, ``baseline.coverage.percent``, ...);
- ``delta``: candidate - baseline for every numeric leaf (bools and strings are left out;
  for maps of numbers such as ``coverage.files`` one entry per key present on either side,
  a missing side counting as 0);
- ``change``: :class:`~engine.model.ChangeFacts` plus ``change.lines``;
- ``goal``: the :class:`~engine.model.Goal` being worked on;
- ``cost``: whatever spend facts the caller passes (tokens, usd, seconds);
- ``roi``: the candidate's ROI score (a double).

Every field typed ``float`` in the model reaches CEL as a double even when Python holds an
int, because CEL refuses ``int - double`` (``baseline.coverage.percent - 0.1`` would fail on
a percent of ``100``).
"""

from __future__ import annotations

import difflib
import functools
import typing
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any

from engine.gate.policy.expr import CompiledExpr

if TYPE_CHECKING:
    from engine.model import ChangeFacts, Goal, Metrics

# Deltas of doubles are rounded so that 81.2 - 79.9 reads -1.3, not -1.3000000000000114.
_DELTA_DIGITS = 9


def build_context(
    *,
    baseline: Metrics,
    candidate: Metrics,
    change: ChangeFacts,
    goal: Goal,
    cost: Mapping[str, Any],
    roi: float,
) -> dict[str, Any]:
    """The context for rules, ``done_when`` and ROI-aware expressions (see module doc)."""
    from engine.model import to_data

    base = _data(baseline)
    cand = _data(candidate)
    return {
        "baseline": base,
        "candidate": cand,
        "delta": numeric_delta(base, cand),
        "change": _data(change),
        "goal": _data(goal),
        "cost": to_data(dict(cost)),
        "roi": float(roi),
    }


def tip_context(metrics: Metrics, goal: Goal) -> dict[str, Any]:
    """A context for one tree (no candidate yet): baseline = candidate, no change, zero cost.

    Used to ask ``goal.done_when`` about the target tip before proposing anything.
    """
    from engine.model import ChangeFacts

    return build_context(
        baseline=metrics, candidate=metrics, change=ChangeFacts(), goal=goal, cost={}, roi=0.0
    )


def numeric_delta(base: Any, cand: Any) -> dict[str, Any]:
    """``cand - base`` over numeric leaves of two nested dicts (see module doc)."""
    out: dict[str, Any] = {}
    for key in list(base) + [k for k in cand if k not in base]:
        b, c = base.get(key), cand.get(key)
        if isinstance(b, Mapping) or isinstance(c, Mapping):
            sub = numeric_delta(_as_map(b), _as_map(c))
            if sub or _is_number_map(b) or _is_number_map(c):
                out[key] = sub
        elif _numeric_pair(b, c):
            out[key] = _sub(0 if c is None else c, 0 if b is None else b)
    return out


def unknown_paths(expr: CompiledExpr) -> list[str]:
    """Problems with the dotted paths ``expr`` reads, judged against the context's shape.

    ``candidate.lnt`` -> "no field 'candidate.lnt'; did you mean 'candidate.lint'?". Maps
    with free keys (``coverage.files``, ``lint.by_code``, ``goal.options``, ``cost``) accept
    any name below them.
    """
    problems: list[str] = []
    for path in expr.paths:
        value: Any = _shape()
        parts = path.split(".")
        for depth, part in enumerate(parts):
            here = ".".join(parts[:depth])
            if isinstance(value, Mapping):
                if not value:  # a free-keyed map: any name may be present at run time
                    break
                if part not in value:
                    close = difflib.get_close_matches(part, [str(k) for k in value], n=1)
                    hint = f"; did you mean '{here}.{close[0]}'?" if close else ""
                    fields_ = ", ".join(sorted(str(k) for k in value))
                    problems.append(f"no field '{here}.{part}' ({here} has: {fields_}){hint}")
                    break
                value = value[part]
            else:
                kind = "a list" if isinstance(value, list) else "a scalar"
                problems.append(f"'{here}' is {kind}; it has no field '{part}'")
                break
    return problems


# --------------------------------------------------------------------------- helpers


@functools.cache
def _shape() -> dict[str, Any]:
    # A context built from defaults (stored: see engine.gate.policy.samples)
    from engine.gate.policy.samples import context_shape

    return context_shape()


def _data(value: Any) -> Any:
    """``to_data`` that also turns ints in float-typed fields into floats (see module doc)."""
    from engine.model import to_data

    data = to_data(value)
    if is_dataclass(value) and not isinstance(value, type):
        hints = field_types(type(value))
        for f in fields(value):
            data[f.name] = _as_declared(getattr(value, f.name), data[f.name], hints[f.name])
    return data


def _as_declared(raw: Any, data: Any, hint: Any) -> Any:
    if is_dataclass(raw) and not isinstance(raw, type):
        return _data(raw)
    if hint is float and _is_number(data):
        return float(data)
    if typing.get_origin(hint) is dict and typing.get_args(hint)[1:] == (float,):
        return {k: float(v) if _is_number(v) else v for k, v in data.items()}
    return data


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotations of the dataclass ``cls`` (evaluated once per class: with
    postponed annotations, ``typing.get_type_hints`` costs ~1 ms a class)."""
    return typing.get_type_hints(cls)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _numeric_pair(b: Any, c: Any) -> bool:
    # Both numbers, or one number and one side missing (counted as 0).
    return (_is_number(b) or b is None) and (_is_number(c) or c is None) and (b, c) != (None, None)


def _is_number_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(_is_number(v) for v in value.values())


def _sub(c: int | float, b: int | float) -> int | float:
    diff = c - b
    return round(diff, _DELTA_DIGITS) if isinstance(diff, float) else diff
