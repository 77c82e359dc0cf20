"""Pure rendering of cycle records: the snapshot JSON and the memory-bank entry.

Every text rendered here passes the redactor (:mod:`engine.redact`).

Layout (one file per candidate, so two candidates never conflict on records):
``snapshots/<cycle-id>.json`` and ``memory-bank/cycles/<cycle-id>.md``, defined by the
gate (:func:`engine.gate.paths.record_paths`): they are the only paths in which a landing
commit may differ from the candidate the gate evaluated.
"""

from __future__ import annotations

import json
from typing import Any

from engine.gate.paths import record_paths
from engine.model import CycleReport, Metrics
from engine.redact import redact, redact_data

# The metric paths shown as deltas in logs, trailers and memory entries.
KEY_METRICS: tuple[tuple[str, str], ...] = (
    ("tests.passed", "tests passed"),
    ("tests.failed", "tests failed"),
    ("coverage.percent", "coverage %"),
    ("complexity.total", "complexity"),
    ("lint.violations", "lint"),
    ("lint.unformatted", "unformatted"),
    ("security.findings", "bandit"),
)


def snapshot_path(cycle_id: str) -> str:
    return record_paths(cycle_id)[0]


def memory_path(cycle_id: str) -> str:
    return record_paths(cycle_id)[1]


def snapshot_json(report: CycleReport) -> str:
    """Baseline, candidate, deltas, rule outcomes and decision, as stable JSON."""
    data = report.to_json()
    data["delta"] = metric_deltas(report.baseline, report.candidate)
    data["rules"] = [
        {
            "id": r.id,
            "passed": r.passed,
            "detail": r.detail,
            "on_fail": r.on_fail,
            "applicable": r.applicable,
        }
        for r in report.rules
    ]
    # Second layer: the answer was redacted where it arrived; records are redacted again.
    return json.dumps(redact_data(data), indent=2, sort_keys=True) + "\n"


def lookup(metrics: Metrics | None, path: str) -> float | None:
    value: Any = metrics
    for part in path.split("."):
        value = getattr(value, part, None)
    return float(value) if isinstance(value, int | float) else None


def metric_deltas(base: Metrics | None, cand: Metrics | None) -> dict[str, float]:
    """Key metric deltas (candidate - baseline), only where both sides are known."""
    out: dict[str, float] = {}
    for path, _ in KEY_METRICS:
        b, c = lookup(base, path), lookup(cand, path)
        if b is not None and c is not None and c != b:
            out[path] = round(c - b, 3)
    return out


def delta_text(base: Metrics | None, cand: Metrics | None) -> str:
    """``coverage % 81.2 → 79.9, lint 12 → 3`` (changed metrics only)."""
    parts = []
    for path, label in KEY_METRICS:
        b, c = lookup(base, path), lookup(cand, path)
        if b is not None and c is not None and c != b:
            parts.append(f"{label} {_num(b)} → {_num(c)}")
    return ", ".join(parts) or "no metric changed"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def trailers(report: CycleReport) -> dict[str, str]:
    """Commit trailers: who, why, what it cost, what moved."""
    out = {
        "Ratchet-Goal": report.goal or "",
        "Ratchet-Cycle": report.cycle_id,
        "Ratchet-Provider": f"{report.provider}/{report.model}"
        if report.model
        else report.provider,
        "Ratchet-Decision": report.outcome,
        "Ratchet-ROI": f"{report.roi:.4f}",
    }
    if report.usage.tokens_in or report.usage.tokens_out:
        out["Ratchet-Tokens"] = f"{report.usage.tokens_in}+{report.usage.tokens_out}"
        out["Ratchet-Cost-USD"] = f"{report.usage.cost_usd:.4f}"
    for path, value in metric_deltas(report.baseline, report.candidate).items():
        out[f"Ratchet-Delta-{path.replace('.', '-')}"] = f"{value:+g}"
    failed = [r.id for r in report.rules if r.applicable and not r.passed]
    if failed:
        out["Ratchet-Failed-Rules"] = ", ".join(failed)
    if report.candidate and report.candidate.sandbox != "bwrap":
        out["Ratchet-Sandbox"] = "UNSAFE-NONE (candidate code ran without a sandbox)"
    return out


def memory_entry(report: CycleReport) -> str:
    """A markdown record: what was tried, why, what the rules said."""
    lines = [
        f"# {report.cycle_id}: {report.summary or '(no proposal)'}",
        "",
        f"- goal: `{report.goal}`  attempt: {report.attempt}",
        f"- outcome: **{report.outcome}**" + (f" — {report.message}" if report.message else ""),
        f"- provider: {report.provider} {report.model}".rstrip(),
        f"- branch: `{report.branch}`" if report.branch else "- branch: none",
        f"- metrics: {delta_text(report.baseline, report.candidate)}",
        f"- ROI: {report.roi:.4f}",
    ]
    if report.change and report.change.files:
        lines.append(
            f"- files: {', '.join(report.change.files)} "
            f"(+{report.change.lines_added} -{report.change.lines_removed})"
        )
    if report.candidate and report.candidate.sandbox != "bwrap":
        lines.append("- WARNING: candidate code ran WITHOUT a sandbox (sandbox: unsafe-none)")
    lines += ["", "## Rules", ""]
    for r in report.rules:
        mark = "pass" if r.passed else ("n/a" if not r.applicable else f"FAIL ({r.on_fail})")
        lines.append(f"- `{r.id}`: {mark} — {r.detail}")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return redact("\n".join(lines) + "\n")
