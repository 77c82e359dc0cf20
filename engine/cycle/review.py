"""A human's decisions that need the gate again: ``ratchet review accept`` and
``ratchet retry``.

Both go through the cycle's pending/resume machinery (:meth:`Cycle.resume`), never a
second merge path: the candidate is rebased onto the target's current tip when it moved,
measured again, every rule is evaluated afresh, and a merge is the usual compare-and-swap
of the target (a checked-out target with local changes makes it ``pending``).

- accept: a rule that asked for review no longer stops it (the human is the review); a
  failed ``reject`` rule still does (the candidate is then archived as rejected).
- retry: a candidate under ``refs/ratchet/rejected/`` is judged again by today's rules on a
  new branch number; its old ref stays as it was (nothing is rewritten).
"""

from __future__ import annotations

from engine.cycle.orchestrator import Cycle
from engine.cycle.pending import resume
from engine.errors import InputError
from engine.model import CycleReport
from engine.model.journal import PendingMerge
from engine.records.review import Candidate, awaiting_review, find, rejected_candidates


def _target(cycle: Cycle) -> str:
    target = cycle.seams.config.directives.target_branch or cycle.repo.current_branch()
    if not target:
        raise InputError("HEAD is detached: set target_branch in directives.yaml")
    if cycle.repo.rev_parse(f"refs/heads/{target}") is None:
        raise InputError(
            f"the target branch {target!r} does not exist in {cycle.repo.root}: create it "
            f"from the remote (`git branch {target} origin/{target}`) and try again"
        )
    return target


def _entry(cycle: Cycle, c: Candidate, *, branch: str, target: str) -> PendingMerge:
    goal = next((g for g in cycle.seams.config.goals if g.id == c.goal), None)
    if goal is None or goal.status != "active":
        state = "not in goals.yaml" if goal is None else f"{goal.status}"
        raise InputError(
            f"goal {c.goal!r} of {c.id} is {state}: make it active in goals.yaml to "
            f"decide {c.id} through the rules, or `ratchet review reject {c.id}`"
        )
    base = str(c.snapshot.get("target_before") or "")
    if not base or cycle.repo.rev_parse(base) is None:
        base = cycle.repo.merge_base(c.commit, f"refs/heads/{target}") or ""
    return PendingMerge(
        goal=c.goal,
        branch=branch,
        commit=c.commit,
        target=target,
        target_before=base,
        cycle_id=c.cycle_id or f"{c.goal}-{c.id.rsplit('/', 1)[1]}",
        evaluated=c.commit,
    )


def accept(cycle: Cycle, candidate_id: str) -> CycleReport:
    """Judge and merge the review candidate ``candidate_id`` (see the module docstring)."""
    target = _target(cycle)
    history = [e.to_json() for e in cycle.seams.journal.read()]
    c = find(awaiting_review(cycle.repo, target, history), candidate_id, "review")
    # A fresh clone's candidate is a remote-tracking branch only: resume makes it local.
    report = resume(
        cycle.seams,
        _entry(cycle, c, branch=c.branch, target=target),
        accepted=True,
        note=f"accepted by a human (review {c.id})",
        fingerprint=str(c.snapshot.get("fingerprint") or ""),
    )
    assert report is not None  # the goal was checked to be active
    cycle.seams.journal.append(report)
    return report


def retry(cycle: Cycle, candidate_id: str) -> CycleReport:
    """Judge the rejected candidate ``candidate_id`` again with today's rules."""
    target = _target(cycle)
    c = find(rejected_candidates(cycle.repo), candidate_id, "rejected")
    from engine.records.numbers import allocate_number

    n = allocate_number(cycle.repo, c.goal)
    report = resume(
        cycle.seams,
        _entry(cycle, c, branch=f"ratchet/{c.goal}/{n}", target=target),
        note=f"retried: {c.id} judged again by today's rules",
        fingerprint=str(c.snapshot.get("fingerprint") or ""),
    )
    assert report is not None
    cycle.seams.journal.append(report)
    return report
