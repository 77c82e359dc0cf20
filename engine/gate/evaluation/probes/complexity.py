"""Cyclomatic complexity and maintainability index with radon (static, in-process).

radon parses the files; it never imports or runs them, so this runs on the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from radon.complexity import cc_visit
from radon.metrics import mi_visit

from engine.model import ComplexityMetrics


@dataclass(frozen=True, kw_only=True)
class ComplexityReport:
    metrics: ComplexityMetrics = field(default_factory=ComplexityMetrics)
    skipped: tuple[str, ...] = ()  # "path: reason" for files radon could not parse


def measure_complexity(root: Path, files: Sequence[str]) -> ComplexityReport:
    """Complexity over every radon block (functions, classes, methods) of ``files``.

    ``total``/``max``/``mean`` are over all blocks of all files, ``mi`` is the mean of the
    per-file maintainability index (radon's multi-line-strings-as-comments variant). No
    files (or no parsable ones): the defaults of :class:`ComplexityMetrics`.
    """
    scores: list[int] = []
    indexes: list[float] = []
    skipped: list[str] = []
    for rel in files:
        try:
            code = (root / rel).read_text(encoding="utf-8")
            blocks = cc_visit(code)
            index = float(mi_visit(code, multi=True))
        # radon is a parser fed untrusted text: any failure means "skip this file"
        except Exception as exc:  # noqa: BLE001
            skipped.append(f"{rel}: {type(exc).__name__}: {exc}")
            continue
        scores.extend(int(block.complexity) for block in blocks)
        indexes.append(index)
    if not indexes:
        return ComplexityReport(skipped=tuple(skipped))
    metrics = ComplexityMetrics(
        total=sum(scores),
        max=max(scores, default=0),
        mean=sum(scores) / len(scores) if scores else 0.0,
        blocks=len(scores),
        mi=sum(indexes) / len(indexes),
    )
    return ComplexityReport(metrics=metrics, skipped=tuple(skipped))
