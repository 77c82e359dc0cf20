"""Human-readable rendering of a cycle report for the terminal (pure)."""

from __future__ import annotations

from engine.model import CycleReport
from engine.records.render import delta_text


def render_report(report: CycleReport) -> str:
    lines = [
        f"[{report.goal or '-'}] attempt {report.attempt}: {report.outcome.upper()}"
        + (f" — {report.summary}" if report.summary else "")
    ]
    if report.message:
        lines.append(f"  {report.message}")
    if report.baseline and report.candidate:
        lines.append(
            f"  metrics: {delta_text(report.baseline, report.candidate)}; roi {report.roi:.4f}"
        )
    for rule in report.rules:
        if rule.applicable and not rule.passed:
            lines.append(f"  failed {rule.id}: {rule.detail}")
    if report.commit:
        where = report.rejected_ref or report.branch
        lines.append(f"  commit {report.commit[:12]} ({where})")
    if report.target_before != report.target_after and report.target_after:
        lines.append(
            f"  {report.target}: {str(report.target_before)[:12]} -> {report.target_after[:12]}"
        )
    for note in report.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
