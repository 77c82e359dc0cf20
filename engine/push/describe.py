"""The description of a review candidate's pull request, in markdown. Pure.

Summary, the rationale (the candidate commit's body), the metric deltas, why a human is
asked, every rule with its result, and how to decide it with ``ratchet review``. Every
text passes the redactor (it leaves the machine)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.records.cause import cause
from engine.records.view import deltas, review_reasons
from engine.redact import redact

MARK = "<!-- ratchet -->"  # how a PR description made by ratchet is recognised


def rationale(message: str) -> str:
    """The free text of a ratchet commit message: not its subject, trailers or the
    ``ratchet: <message>`` line."""
    kept = []
    for para in message.strip().split("\n\n")[1:]:
        lines = para.strip().splitlines()
        if not lines or para.startswith("ratchet: "):
            continue
        if all(":" in line and line.split(":", 1)[0].startswith("Ratchet-") for line in lines):
            continue
        kept.append(para.strip())
    return "\n\n".join(kept)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def describe(
    candidate_id: str, snapshot: Mapping[str, Any], *, message: str, commit: str
) -> tuple[str, str]:
    """(title, body) of the PR of candidate ``<goal>/<n>``."""
    subject = message.strip().partition("\n")[0]
    summary = str(snapshot.get("summary") or subject or f"ratchet candidate {candidate_id}")
    goal = str(snapshot.get("goal") or candidate_id.rsplit("/", 1)[0])
    lines = [
        MARK,
        f"**{summary}** — a candidate of goal `{goal}`, kept for review by ratchet.",
        "",
    ]
    why = rationale(message)
    if why:
        lines += ["### Rationale", "", why, ""]
    lines += [
        "### Deltas",
        "",
        deltas(snapshot, arrows=True) or "no key metric changed",
        f"(ROI {snapshot.get('roi', 0)})",
        "",
        "### Why a human is asked",
        "",
        review_reasons({**snapshot, "outcome": snapshot.get("outcome") or "review"}),
    ]
    reason = cause(snapshot)
    if reason:
        lines += ["", f"Cause: {reason}"]
    rules = [r for r in snapshot.get("rules") or [] if isinstance(r, Mapping)]
    if rules:
        lines += ["", "### Rules", "", "| rule | result | detail |", "|---|---|---|"]
        for r in rules:
            mark = "pass" if r.get("passed") else f"FAIL ({r.get('on_fail', 'reject')})"
            mark = "n/a" if not r.get("applicable", True) else mark
            detail = str(r.get("detail", "")).removeprefix(f"{r.get('id')}: ")
            lines.append(f"| `{_cell(r.get('id'))}` | {mark} | {_cell(detail)[:300]} |")
    lines += [
        "",
        f"Commit `{commit[:12]}`, cycle `{snapshot.get('cycle_id', '')}`.",
        f"Accept: `ratchet review accept {candidate_id}` (re-checks the rules on the current "
        f'tip); reject: `ratchet review reject {candidate_id} --reason "..."`.',
        "",
        "_Pushing a commit to this branch makes it yours: ratchet never rewrites or closes "
        "it again._",
    ]
    return redact(summary)[:250], redact("\n".join(lines) + "\n")
