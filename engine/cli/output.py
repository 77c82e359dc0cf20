"""The CLI's output layer: the only place in ratchet that prints.

``echo`` writes a line to stdout, ``warn`` to stderr, ``emit_json`` one JSON document;
``render_report`` turns a cycle report into terminal text (pure). Commands print through
these, so ``--json`` output and human text never interleave by accident.

Everything printed passes the redactor (:mod:`engine.redact`) here — a second layer after
the one where a model's answer arrives: no key reaches stdout or stderr.
"""

from __future__ import annotations

import json
import traceback
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from engine.model import CycleReport


def echo(text: str = "") -> None:
    """One line (or block) of human text on stdout, redacted."""
    from engine.redact import redact

    typer.echo(redact(text))


def warn(text: str) -> None:
    """A message on stderr (errors, notes that must not mix into stdout data), redacted."""
    from engine.redact import redact

    typer.echo(redact(text), err=True)


def error(message: str) -> None:
    """An error on stderr, prefixed the way every ratchet error is: ``ratchet: ...``."""
    warn(f"ratchet: {message}")


def emit_json(data: Any, *, indent: int | None = None, sort_keys: bool = False) -> None:
    """One JSON document on stdout, every string in it redacted."""
    from engine.redact import redact_data

    typer.echo(json.dumps(redact_data(data), indent=indent, sort_keys=sort_keys))


def print_traceback() -> None:
    """The current exception's traceback on stderr (the CLI's last resort)."""
    warn(traceback.format_exc().rstrip())


def render_report(report: CycleReport) -> str:
    """A cycle report as terminal text: outcome, metric deltas, failed rules, refs, notes."""
    from engine.gate.guards.base import ALLOWED
    from engine.records.render import delta_text

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
    failed = [r.id for r in report.rules if r.applicable and not r.passed]
    if failed or report.outcome == "rejected":
        from engine.records.render import full_record

        why = str(full_record(report).get("cause") or "")
        if why:
            lines.append(f"  cause: {why}")
    if failed:
        lines.append(f"  rules failed: {', '.join(failed)} (values: `ratchet log --verbose`)")
    for rule in report.rules:
        if rule.passed and rule.detail.startswith(ALLOWED):  # a guard finding the goal accepted
            lines.append(f"  allowed {rule.id}: {rule.detail}")
    if report.commit:
        where = report.rejected_ref or report.branch
        lines.append(f"  commit {report.commit[:12]} ({where})")
    if report.outcome in ("review", "pending") and report.branch:
        cid = report.branch.removeprefix("ratchet/")
        lines.append(f"  next: `ratchet review show {cid}`, then `review accept|reject {cid}`")
    if report.outcome == "question" and report.question:
        n = report.question
        lines.append(
            f'  next: answer it in goals.yaml, on goal {report.goal}: answers: {{{n}: "..."}}'
            " (memory-bank/questions.md, `ratchet status`)"
        )
    if report.subtask:
        lines.append(f"  sub-task: {report.subtask} (memory-bank/plans/{report.goal}.md)")
    if report.target_before != report.target_after and report.target_after:
        lines.append(
            f"  {report.target}: {str(report.target_before)[:12]} -> {report.target_after[:12]}"
        )
    for note in report.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
