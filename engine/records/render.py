"""Pure rendering of cycle records: the full record, the snapshot JSON, the memory-bank
entry and the trailers.

- :func:`full_record` — everything about an attempt (both sides' metrics, every rule with
  its values, timings, the cause): the journal line and the git note's JSON;
- :func:`snapshot_json` — its abridgement committed in the tree (decision, key metrics,
  deltas, rule verdicts, timings, cause): tens of lines, one per fact;
- :func:`memory_entry` — a short markdown note for humans and the provider's context.

Every text rendered here passes the redactor (:mod:`engine.redact`).

Layout (one file per candidate, so two candidates never conflict on records):
``snapshots/<cycle-id>.json`` and ``memory-bank/cycles/<cycle-id>.md``, defined by the
gate (:func:`engine.gate.paths.record_paths`): they are the only paths in which a landing
commit may differ from the candidate the gate evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.gate.paths import record_paths
from engine.model import CycleReport, Metrics, to_data
from engine.redact import redact, redact_data
from engine.vcs.refs import NOTES_REF

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


# What a committed snapshot keeps of each side's metrics (the note keeps everything).
SNAPSHOT_METRICS: tuple[str, ...] = (
    *(path for path, _ in KEY_METRICS),
    "tests.errors",
    "tests.timed_out",
    "tests.first_failure",
    "tests.stage",
    "diff_coverage.percent",
    "sandbox",
    "seconds",
)
ABRIDGED: tuple[str, ...] = ("baseline", "candidate", "rules", "rules_passed", "change")
"""The snapshot keys that are shortened versions of the note's."""


def snapshot_path(cycle_id: str) -> str:
    return record_paths(cycle_id)[0]


def memory_path(cycle_id: str) -> str:
    return record_paths(cycle_id)[1]


def full_record(report: CycleReport) -> dict[str, Any]:
    """Everything recorded about one attempt: the report, key deltas, every rule with the
    values it saw, per-step timings and the cause, redacted. The journal line and the git
    note (:mod:`engine.records.evidence`) hold this; the committed snapshot an abridgement."""
    from engine.records.cause import cause

    data = report.to_json()
    data["delta"] = metric_deltas(report.baseline, report.candidate)
    data["rules"] = [
        {
            "id": r.id,
            "passed": r.passed,
            "detail": r.detail,
            "on_fail": r.on_fail,
            "applicable": r.applicable,
            "values": to_data(r.values),
        }
        for r in report.rules
    ]
    data["cause"] = cause(data)
    # Second layer: the answer was redacted where it arrived; records are redacted again.
    redacted: dict[str, Any] = redact_data(json.loads(json.dumps(data, default=str)))
    return redacted


def snapshot_json(report: CycleReport) -> str:
    """The committed snapshot: decision, key metrics, deltas, rule verdicts, timings, the
    cause (tens of lines; see :func:`abridge`)."""
    return render_snapshot(abridge(full_record(report)))


def note_json(record: Mapping[str, Any]) -> str:
    """A full record (:func:`full_record`) as the git note's text: stable, indented JSON."""
    return json.dumps(record, indent=2, sort_keys=True) + "\n"


def abridge(record: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot's share of a full record: every top-level fact, but only the key
    metrics of each side (:data:`SNAPSHOT_METRICS`), the verdicts of the rules that failed
    or did not apply (without their values) and the ids of those that passed
    (``rules_passed``), and the change's size. Keys in :data:`ABRIDGED` are the ones shortened; a
    reader with the note takes those from the note (:func:`engine.records.evidence.
    with_evidence`)."""
    out = {k: v for k, v in record.items() if k not in ABRIDGED}
    for side in ("baseline", "candidate"):
        out[side] = _key_metrics(record.get(side) or {})
    rules = [r for r in record.get("rules") or [] if isinstance(r, Mapping)]
    out["rules"] = [
        {k: r.get(k) for k in ("id", "passed", "on_fail", "applicable")}
        for r in rules
        if not r.get("passed") or not r.get("applicable", True)
    ]
    out["rules_passed"] = [
        r.get("id") for r in rules if r.get("passed") and r.get("applicable", True)
    ]
    change = record.get("change") or {}
    out["change"] = {k: change[k] for k in ("files", "lines_added", "lines_removed") if k in change}
    out["evidence"] = NOTES_REF  # where the rest is: git notes --ref ratchet show <commit>
    # what is not known yet when the snapshot is committed (its own commit, the finish) or
    # empty stays out; ``cause`` stays even when empty (it says: nothing failed)
    return {k: v for k, v in out.items() if k == "cause" or v not in (None, "", [], {})}


def _key_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    if not metrics:
        return {}
    out: dict[str, Any] = {}
    for path in SNAPSHOT_METRICS:
        group, _, name = path.partition(".")
        value = (metrics.get(group) or {}).get(name) if name else metrics.get(group)
        if value is None or value == "":
            continue
        if name:
            out.setdefault(group, {})[name] = value
        else:
            out[group] = value
    return out


def render_snapshot(data: Mapping[str, Any]) -> str:
    """JSON with one top-level key per line, one line per metric group and per rule: short,
    and a diff of two snapshots shows what changed line by line."""

    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    lines = []
    for key, value in sorted(data.items()):
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            inner = ",\n".join(f"    {one(x)}" for x in value)
            lines.append(f"  {one(key)}: [\n{inner}\n  ]")
        elif isinstance(value, dict) and value and all(isinstance(x, dict) for x in value.values()):
            inner = ",\n".join(f"    {one(k)}: {one(v)}" for k, v in sorted(value.items()))
            lines.append(f"  {one(key)}: {{\n{inner}\n  }}")
        else:
            lines.append(f"  {one(key)}: {one(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


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


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    """A short markdown record: what was tried, the outcome, what moved, which rules failed
    (every rule's values are in the note)."""
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
    failed = [r for r in report.rules if r.applicable and not r.passed]
    passed = sum(1 for r in report.rules if r.applicable and r.passed)
    lines += ["", "## Rules", "", f"- {passed} passed, {len(failed)} failed"]
    for r in failed:
        lines.append(f"- `{r.id}`: FAIL ({r.on_fail}) — {_clip(r.detail)}")
    if report.rules:
        lines.append(f"- every rule with the values it saw: the note in {NOTES_REF}")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return redact("\n".join(lines) + "\n")
