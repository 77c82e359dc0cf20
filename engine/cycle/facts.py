"""What the cycle derives from records and results: a proposal read back from its
commit, the change facts of a committed candidate, the goal metric, the cost seen by
rules, the refine loop's feedback and the memory-bank lessons. Small pure-ish helpers of
:mod:`engine.cycle`, kept apart so the orchestrator reads as the steps it takes."""

from __future__ import annotations

from engine.model import ChangeFacts, CycleReport, Proposal
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


def change_from_git(repo: Repository, base: str, head: str, cycle_id: str) -> ChangeFacts:
    """The ``change`` of a committed candidate (its own record files left out)."""
    from engine.gate.paths import is_protected, is_test_file
    from engine.patching.diff import count_lines, touched_symbols, unified_diff
    from engine.records.render import memory_path, snapshot_path

    records = {snapshot_path(cycle_id), memory_path(cycle_id)}
    paths = sorted({f.path for f in repo.changed_files(base, head)} - records)
    old = {p: repo.show_file(base, p) for p in paths}
    new = {p: repo.show_file(head, p) or "" for p in paths}
    added, removed = count_lines(unified_diff(old, new))
    symbols = [
        f"{p}::{s}" for p in paths if p.endswith(".py") for s in touched_symbols(p, old[p], new[p])
    ]
    return ChangeFacts(
        files=tuple(paths),
        lines_added=added,
        lines_removed=removed,
        symbols=tuple(symbols),
        protected=tuple(p for p in paths if is_protected(p)),
        tests_touched=tuple(p for p in paths if is_test_file(p)),
        empty=not paths,
    )


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


def lessons(repo: Repository) -> tuple[str, ...]:
    path = repo.root / "memory-bank" / "lessons.md"
    if not path.is_file():
        return ()
    text = path.read_text(encoding="utf-8", errors="replace")
    return tuple(line[2:].strip() for line in text.splitlines() if line.startswith("- "))[:20]
