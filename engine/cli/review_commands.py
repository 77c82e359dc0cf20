"""``ratchet review list|show|accept|reject`` and ``ratchet retry``: a human sees, judges and
steers what ratchet made.

The candidates come from git refs and the records in their commits
(:mod:`engine.records.review`), so the commands work the same in a fresh clone. accept and
retry go through the cycle's resume machinery (:mod:`engine.cycle.review`) under the cycle
lock; reject archives the candidate with the reason (:func:`record_rejection`), which
later cycles read as a human decision. Exit codes: :mod:`engine.cli.exits` (accept that
did not merge: ``EXIT_NOT_APPLIED``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli import output
from engine.cli.exits import EXIT_NOT_APPLIED

RepoOpt = Annotated[Path, typer.Option("--repo", help="Repository to work on.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines on stderr.")]
IdArg = Annotated[str, typer.Argument(help="Candidate id <goal>/<n> (from `ratchet review list`).")]


def _context(repo: Path) -> tuple[Any, Any, str, list[dict[str, Any]]]:
    from engine.config import load_directives
    from engine.errors import InputError
    from engine.records.history import load_history
    from engine.vcs import Repository

    repository = Repository.open(repo)
    directives = load_directives(repository.root)
    target = directives.target_branch or repository.current_branch()
    if not target:
        raise InputError("HEAD is detached: set target_branch in directives.yaml")
    return repository, directives, target, [e.to_json() for e in load_history(repository)]


def list_(
    repo: RepoOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Candidates awaiting review: id, goal, age, summary, key deltas, why review."""
    from engine.records.review import awaiting_review
    from engine.records.view import age, deltas, review_reasons

    repository, _, target, history = _context(repo)
    found = awaiting_review(repository, target, history)
    now = datetime.now(UTC)
    rows = [
        {
            "id": c.id,
            "goal": c.goal,
            "age": age(c.committed, now),
            "summary": c.snapshot.get("summary") or "",
            "deltas": deltas(c.snapshot),
            "asked_by": review_reasons({**c.snapshot, "outcome": c.decision}),
            "branch": c.branch,
            "commit": c.commit,
            "outcome": c.decision,
        }
        for c in found
    ]
    if as_json:
        output.emit_json(rows, indent=2)
        return
    if not rows:
        output.echo(f"no candidate awaits review (target {target})")
        return
    for r in rows:
        output.echo(f"{r['id']}  [{r['goal']}]  {r['age']} ago  {r['summary']}")
        output.echo(f"    deltas: {r['deltas'] or 'none'}; asked by: {r['asked_by']}")
    output.echo("\nnext: `ratchet review show ID`, then `ratchet review accept ID` or `reject ID`")


def show(candidate_id: IdArg, repo: RepoOpt = Path(".")) -> None:
    """One candidate: the diff, metric deltas, every rule with the values it saw, the cause."""
    from engine.records.cause import cause
    from engine.records.evidence import NOTES_REF, evidence_for, with_evidence
    from engine.records.review import branch_candidates, find, rejected_candidates
    from engine.records.view import deltas, review_reasons, without_records

    repository, _, target, _ = _context(repo)
    pool = branch_candidates(repository) + rejected_candidates(repository)
    c = find(pool, candidate_id, "known")
    note = evidence_for(repository, c.commit)
    s = with_evidence(c.snapshot, note)
    lines = [
        f"{c.id}  [{c.goal}]  {s.get('summary') or '(no summary)'}",
        f"  {c.ref} at {c.commit[:12]}, decision: {c.decision or '-'}",
        f"  metrics: {deltas(s, arrows=True) or 'no metric changed'}; roi {s.get('roi', 0)}",
    ]
    why = cause(s)
    if why:
        lines.append(f"  cause: {why}")
    if c.decision in ("review", "pending"):
        lines.append(f"  asked by: {review_reasons({**s, 'outcome': c.decision})}")
    lines.append("  rules:")
    for r in s.get("rules") or []:
        mark = "pass" if r.get("passed") else f"FAIL ({r.get('on_fail')})"
        mark = "n/a" if not r.get("applicable", True) else mark
        detail = str(r.get("detail", ""))
        detail = detail.removeprefix(f"{r.get('id')}: ")
        lines.append(f"    {mark:<14} {r.get('id')}: {detail}".rstrip(": "))
    if s.get("rules_passed"):  # an abridged snapshot: the passing rules by name only
        lines.append(f"    {'pass':<14} {', '.join(map(str, s['rules_passed']))}")
    if note is None and c.snapshot:
        lines.append(
            f"  (no evidence note for {c.commit[:12]}: the rules' values are in {NOTES_REF}; "
            f"fetch it with `git fetch origin {NOTES_REF}:{NOTES_REF}`)"
        )
    lines += [f"  note: {n}" for n in s.get("notes") or []]
    base = repository.merge_base(c.commit, f"refs/heads/{target}") or f"{c.commit}^"
    lines += ["", without_records(repository.diff(base, c.commit)) or "(empty diff)"]
    output.echo("\n".join(lines))


def accept(candidate_id: IdArg, repo: RepoOpt = Path("."), quiet: QuietOpt = False) -> int | None:
    """Re-evaluate the rules against the current target tip (rebasing and re-measuring if
    it moved), then merge by compare-and-swap. Exit 5 when it was not merged."""
    from engine.cli.progress import cycle_progress
    from engine.compose import decision_cycle
    from engine.cycle.review import accept as do_accept

    with cycle_progress(quiet=quiet) as progress, decision_cycle(repo, on_step=progress) as cycle:
        report = do_accept(cycle, candidate_id)
    output.echo(output.render_report(report))
    if report.outcome != "merged":
        output.error(
            f"{candidate_id} was not merged ({report.outcome}); "
            + (
                "it merges at the next cycle once the target's worktree is clean"
                if report.outcome == "pending"
                else "see `ratchet review show` / `ratchet log --verbose`"
            )
        )
        return EXIT_NOT_APPLIED
    return None


def reject(
    candidate_id: IdArg,
    repo: RepoOpt = Path("."),
    reason: Annotated[
        str, typer.Option("--reason", help="Why (fed to the goal's next cycles).")
    ] = "",
) -> None:
    """Archive a candidate under refs/ratchet/rejected/ with your reason; never proposed again."""
    from engine.compose import cycle_lock
    from engine.records.review import awaiting_review, find, record_rejection

    repository, directives, target, history = _context(repo)
    with cycle_lock(repository):
        c = find(awaiting_review(repository, target, history), candidate_id, "review")
        at = datetime.now(UTC).isoformat(timespec="seconds")
        entry = record_rejection(repository, c, reason=reason, identity=directives.identity, at=at)
    output.echo(f"rejected {c.id}: kept at {entry['rejected_ref']} ({str(entry['commit'])[:12]})")
    if not c.local:
        output.echo(f"note: the remote branch {c.ref} still exists; delete it on the remote")


def retry(candidate_id: IdArg, repo: RepoOpt = Path("."), quiet: QuietOpt = False) -> int | None:
    """Judge a rejected candidate (refs/ratchet/rejected/<goal>/<n>) again with today's rules."""
    from engine.cli.progress import cycle_progress
    from engine.compose import decision_cycle
    from engine.cycle.review import retry as do_retry

    with cycle_progress(quiet=quiet) as progress, decision_cycle(repo, on_step=progress) as cycle:
        report = do_retry(cycle, candidate_id)
    output.echo(output.render_report(report))
    return None
