"""Built-in guards: checks in code (not in rules/, which a human may edit) that run on
every evaluated candidate. Each returns a RuleOutcome named ``guard-*`` whose ``values``
carry the evidence (``findings``: file, line, evidence, before/after snippets; ``names``
where a guard is about named things, such as the public API names a change breaks).

A failed guard with ``on_fail == "reject"`` rejects whatever the rules say; one with
``"review"`` turns a merge into a review. A goal may accept an allowable guard's findings
by listing its id (or its alias, e.g. ``api-change``) in ``allow``. Guards fail closed: a
guard that crashes is recorded as failed.

The guards, their defaults and what makes each fail are one table:
:data:`engine.gate.guards.registry.GUARDS` (rendered in SECURITY.md by
:func:`~engine.gate.guards.registry.render_table`).
:func:`engine.gate.guards.quarantine.apply_quarantine` runs before the rules (it adjusts the
metrics they see); :func:`run_guards` runs every other guard, in table order.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.gate.guards.base import GuardFacts, GuardSpec, changed_versions, outcome
from engine.gate.guards.quarantine import Quarantine, apply_quarantine
from engine.gate.guards.registry import GUARD_IDS, GUARDS, Guard, guard
from engine.model import ChangeFacts, Directives, Metrics, RuleOutcome
from engine.vcs import Repository

__all__ = ["GUARDS", "GUARD_IDS", "Quarantine", "apply_quarantine", "guard", "run_guards"]


def run_guards(
    repo: Repository,
    base_commit: str,
    head_commit: str,
    baseline: Metrics,
    candidate: Metrics,
    change: ChangeFacts,
    directives: Directives,
    *,
    allow: Sequence[str] = (),
) -> tuple[RuleOutcome, ...]:
    """Every built-in guard's outcome for one candidate (``head_commit`` is the evaluated
    candidate commit, child of ``base_commit``; files are read through ``repo``).
    ``allow`` is the goal's allow list."""
    facts = GuardFacts(baseline=baseline, candidate=candidate, change=change, directives=directives)
    try:
        facts = GuardFacts(
            files=tuple(changed_versions(repo, base_commit, head_commit)),
            base_files=tuple(repo.ls_files(base_commit)),
            baseline=baseline,
            candidate=candidate,
            change=change,
            directives=directives,
            read_base=lambda path: repo.show_file(base_commit, path),
        )
    except Exception as exc:  # noqa: BLE001 - fail closed, with the reason on record
        diff_error: Exception | None = exc
    else:
        diff_error = None
    outcomes: list[RuleOutcome] = []
    for entry in GUARDS.values():
        if entry.check is None:
            continue
        if diff_error is not None and entry.reads_diff:
            continue
        outcomes.append(_run(entry, facts, allow))
    if diff_error is not None:
        outcomes.append(
            _crashed(GuardSpec(id="guard-diff", requirement="read the diff"), diff_error)
        )
    return tuple(outcomes)


def _run(entry: Guard, facts: GuardFacts, allow: Sequence[str]) -> RuleOutcome:
    assert entry.check is not None
    on_fail = facts.directives.on_protected if entry.id == "guard-protected-paths" else None
    try:
        return outcome(entry.spec, entry.check(facts), allow, on_fail=on_fail)
    except Exception as exc:  # noqa: BLE001 - a guard that crashes fails closed
        return _crashed(entry.spec, exc)


def _crashed(spec: GuardSpec, exc: Exception) -> RuleOutcome:
    return RuleOutcome(
        id=spec.id,
        passed=False,
        on_fail="reject",
        detail=f"the guard could not run ({type(exc).__name__}: {exc}); failing closed",
        values={"error": f"{type(exc).__name__}: {exc}"},
    )
