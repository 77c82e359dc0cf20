"""What the cycle derives from records and results: a proposal read back from its commit
(a pending candidate's) and the refine loop's feedback. The change facts of a committed
candidate are the gate's (:mod:`engine.gate.change`); the lessons are the records'
(:mod:`engine.records.lessons`)."""

from __future__ import annotations

from engine.model import CycleReport, Proposal
from engine.vcs import Repository


def proposal_from_commit(repo: Repository, commit: str) -> Proposal:
    """What a recorded candidate proposed, read back from its commit message."""
    from engine.vcs import parse_trailers

    message = repo.commit_message(commit)
    subject, _, rest = message.partition("\n")
    trailers = parse_trailers(message)
    body = rest.split("\nratchet: ", 1)[0].strip()
    provider, _, model = trailers.get("Ratchet-Provider", "").partition("/")
    return Proposal(summary=subject.strip(), rationale=body, provider=provider, model=model)


def feedback(report: CycleReport) -> str:
    """What failed, for the refine loop: failing tests, their output, the failed rules."""
    lines = [f"Your previous attempt ({report.summary!r}) was rejected."]
    lines += [
        f"- rule {r.id} failed: {r.detail}" for r in report.rules if r.applicable and not r.passed
    ]
    if report.candidate and report.candidate.tests.failures:
        lines.append("Failing tests: " + ", ".join(report.candidate.tests.failures[:10]))
        lines.append(report.candidate.tests.output_tail[-2000:])
    return "\n".join(lines)
