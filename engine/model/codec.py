"""Frozen values <-> plain data (dicts, lists, numbers): JSON- and CEL-ready.

Imports only :mod:`engine.model.metrics`, so every other model module may use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.model.metrics import (
    BehaviourMetrics,
    ComplexityMetrics,
    CoverageMetrics,
    DiffCoverage,
    LintMetrics,
    Metrics,
    SecurityMetrics,
    TestMetrics,
)


def to_data(value: Any) -> Any:
    """Dataclasses -> dicts, tuples -> lists, recursively (JSON- and CEL-ready).

    A dataclass may name derived properties in a ``DERIVED`` class attribute; they are
    included as keys too (``ChangeFacts.lines``), so rules can read them.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in getattr(value, "DERIVED", ()):
            out[name] = to_data(getattr(value, name))
        return out
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    return value


def metrics_from_data(data: dict[str, Any]) -> Metrics:
    """Inverse of ``to_data`` for Metrics (used by the baseline cache)."""

    def part(cls: Any, key: str) -> Any:
        raw = data.get(key, {})
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})

    return Metrics(
        commit=data.get("commit", ""),
        tests=part(TestMetrics, "tests"),
        coverage=part(CoverageMetrics, "coverage"),
        complexity=part(ComplexityMetrics, "complexity"),
        lint=part(LintMetrics, "lint"),
        security=part(SecurityMetrics, "security"),
        diff_coverage=part(DiffCoverage, "diff_coverage"),
        behaviour=part(BehaviourMetrics, "behaviour"),
        goal=data.get("goal", 0.0),
        sandbox=data.get("sandbox", "bwrap"),
        seconds=data.get("seconds", 0.0),
        notes=tuple(str(n) for n in data.get("notes", ())),
    )
