"""Cyclomatic complexity and maintainability index with radon (static, in-process).

radon parses the files; it never imports or runs them, so this runs on the host. With a
:class:`~engine.gate.evaluation.filecache.FileCache`, a file whose content was measured
before (by blob id, anywhere in the tree) is not parsed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.gate.evaluation.filecache import FileCache, lookup
from engine.model import ComplexityMetrics

TOOL = "radon"


@dataclass(frozen=True, kw_only=True)
class ComplexityReport:
    metrics: ComplexityMetrics = field(default_factory=ComplexityMetrics)
    skipped: tuple[str, ...] = ()  # "path: reason" for files radon could not parse


def measure_complexity(
    root: Path, files: Sequence[str], *, cache: FileCache | None = None
) -> ComplexityReport:
    """Complexity over every radon block (functions, classes, methods) of ``files``.

    ``total``/``max``/``mean`` are over all blocks of all files, ``mi`` is the mean of the
    per-file maintainability index (radon's multi-line-strings-as-comments variant). No
    files (or no parsable ones): the defaults of :class:`ComplexityMetrics`. ``cache``
    changes which files are parsed, never the numbers.
    """
    found = lookup(cache, root, files, tool=TOOL, setup=metadata.version("radon"), by_path=False)
    found.record({rel: file_complexity(root / rel) for rel in found.misses})
    total = peak = blocks = 0
    indexes: list[float] = []
    skipped: list[str] = []
    for rel, result in found.ordered(files):
        if "skipped" in result:
            skipped.append(f"{rel}: {result['skipped']}")
            continue
        total += int(result["total"])
        peak = max(peak, int(result["max"]))
        blocks += int(result["blocks"])
        indexes.append(float(result["mi"]))
    if not indexes:
        return ComplexityReport(skipped=tuple(skipped))
    metrics = ComplexityMetrics(
        total=total,
        max=peak,
        mean=total / blocks if blocks else 0.0,
        blocks=blocks,
        mi=sum(indexes) / len(indexes),
    )
    return ComplexityReport(metrics=metrics, skipped=tuple(skipped))


def file_complexity(path: Path) -> dict[str, Any]:
    """One file's ``total``/``max``/``blocks``/``mi``, or ``skipped`` with radon's reason."""
    from radon.complexity import cc_visit

    from engine.gate.evaluation.probes.maintainability import maintainability_index

    try:
        code = path.read_text(encoding="utf-8")
        scores = [int(block.complexity) for block in cc_visit(code)]
        index = maintainability_index(code)  # radon's mi_visit(code, multi=True), linear
    # radon is a parser fed untrusted text: any failure means "skip this file"
    except Exception as exc:  # noqa: BLE001
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    return {"total": sum(scores), "max": max(scores, default=0), "blocks": len(scores), "mi": index}
