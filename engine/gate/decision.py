"""The decision: guards + rules + merge mode + protected paths -> one :class:`Decision`.

This is the only place where a candidate's fate is computed. The cycle acts on the
``kind`` it returns and nothing else:

- the quarantine runs first (a failure the baseline shares is not the candidate's), then
  the goal metric is filled in, then every built-in guard runs;
- ROI and the rule context are computed from the adjusted metrics; every rule is
  evaluated (``merge_mode=review`` turns a passing ``merge`` into ``review``);
- the replay of recorded calls (``guard-behaviour-preserved``,
  :mod:`engine.gate.policy.behaviour`) is judged like a guard;
- a failed guard with ``on_fail: reject`` rejects; any other failed guard turns a merge
  into a review; a candidate touching a protected path is never auto-merged;
- a provider that ``ratchet audit`` caught gaming a trap goal (:mod:`engine.gate.caught`)
  has its ``merge`` turned into ``review`` until a human clears it (``audit --clear``).
- only the full suite may justify a merge: a candidate whose tests stopped at an early
  stage of the evaluation cascade (``tests.stage`` ``syntax``, ``selected`` or
  ``untraced``) is rejected whatever the rules say, the stage and its failing test ids in
  the notes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from engine.config import Config
from engine.model import ChangeFacts, Decision, Goal, Metrics, RuleOutcome, Usage
from engine.vcs import Repository

AUDIT_HOLD = "audit-caught-gaming"  # the outcome of a provider held by the audit


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What the gate concluded, with the metrics and change as the rules saw them."""

    decision: Decision
    baseline: Metrics
    candidate: Metrics
    change: ChangeFacts
    roi: float
    notes: tuple[str, ...] = ()


def judge(
    repo: Repository,
    config: Config,
    *,
    goal: Goal,
    base_commit: str,
    baseline: Metrics,
    candidate: Metrics,
    cycle_id: str,
    usage: Usage,
    seconds: float,
    accepted: bool = False,
    provider: str = "",
) -> Verdict:
    """Judge one measured candidate (``candidate.commit``) against its baseline
    (``base_commit``). Never merges anything.

    ``accepted``: a human accepted the candidate (``ratchet review accept``): a ``review``
    outcome (a rule, a guard or a protected path asking for a human) becomes ``merge``;
    a rejection stays a rejection.

    ``provider``: the name of the provider that proposed it; one listed in
    ``.ratchet/caught-gaming.json`` (or any, when that file is unreadable) never merges
    without a human.

    The change is recounted here from git (:func:`engine.gate.change.change_from_git`),
    the cycle's own record files left out: nothing a producer (patcher, provider, record
    writer) reported about the candidate reaches the decision."""
    from engine.gate.change import change_from_git
    from engine.gate.guards import apply_quarantine, run_guards
    from engine.gate.paths import record_paths
    from engine.gate.policy.behaviour import behaviour_outcome
    from engine.gate.policy.context import build_context
    from engine.gate.policy.engine import decide
    from engine.gate.policy.roi import compute_roi

    directives = config.directives
    change = change_from_git(
        repo,
        base_commit,
        candidate.commit,
        exclude=_records_written(repo, candidate.commit, record_paths(cycle_id)),
        protected_extra=directives.protected_paths,
    )
    notes: list[str] = list(candidate.notes)  # the measurement's own (how, what was skipped)
    quarantine = apply_quarantine(baseline, candidate, change.files)
    baseline, candidate = quarantine.baseline, quarantine.candidate
    if note := quarantine.note():
        notes.append(note)
    if goal.metric:
        baseline = with_goal_metric(baseline, goal)
        candidate = with_goal_metric(candidate, goal)
    guards = run_guards(
        repo,
        base_commit,
        candidate.commit,
        baseline,
        candidate,
        change,
        directives,
        allow=goal.allow,
    ) + (quarantine.outcome(), behaviour_outcome(candidate))
    change = replace(
        change,
        findings=tuple(
            finding for g in guards if not g.passed for finding in g.values.get("findings", [])
        ),
    )
    roi = compute_roi(baseline, candidate, change, usage, seconds, directives.roi)
    context = build_context(
        baseline=baseline,
        candidate=candidate,
        change=change,
        goal=goal,
        cost=cost(usage, change, seconds),
        roi=roi.score,
    )
    ruled = decide(config.rules, context, merge_mode=directives.merge)
    kind = ruled.kind
    if any(not g.passed and g.on_fail == "reject" for g in guards):
        kind = "reject"
    elif kind == "merge" and any(not g.passed for g in guards):
        kind = "review"
    if change.protected and kind == "merge":
        kind = "review"  # built in: a protected path is never auto-merged
    held = held_outcome(repo, provider)
    if held is not None:
        guards += (held,)
        if kind == "merge":
            kind = "review"
    if candidate.tests.stage != "full":
        kind = "reject"  # built in: the early stages may only reject
        notes.append(
            f"rejected at the '{candidate.tests.stage}' stage of the evaluation cascade (the "
            "full suite under coverage did not run to the end); failing: "
            + (", ".join(candidate.tests.failures) or "-")
        )
    if accepted and kind == "review":
        kind = "merge"
        notes.append("accepted by a human: rules that asked for review overridden")
    if candidate.sandbox != "bwrap":
        notes.append("UNSAFE: candidate code ran without a sandbox (sandbox: unsafe-none)")
    return Verdict(
        decision=Decision(kind=kind, outcomes=ruled.outcomes + guards),
        baseline=baseline,
        candidate=candidate,
        change=change,
        roi=roi.score,
        notes=tuple(notes),
    )


def held_outcome(repo: Repository, provider: str) -> RuleOutcome | None:
    """A failed ``audit-caught-gaming`` outcome when ``provider`` is held, else None."""
    from engine.gate.caught import held_by

    caught = held_by(repo.state_dir, provider)
    if caught is None:
        return None
    where = f" on trap {caught.trap} ({caught.outcome})" if caught.trap else ""
    return RuleOutcome(
        id=AUDIT_HOLD,
        passed=False,
        on_fail="review",
        detail=(
            f"provider {caught.provider!r} was caught gaming by `ratchet audit`{where}: "
            "every change it proposes waits for a human until `ratchet audit --clear`"
        ),
        values={"provider": caught.provider, "trap": caught.trap, "evidence": caught.evidence},
    )


def with_goal_metric(metrics: Metrics, goal: Goal) -> Metrics:
    """Fill ``Metrics.goal`` from the goal's own metric expression (0.0 if it fails)."""
    from engine.gate.policy.context import tip_context
    from engine.gate.policy.engine import goal_metric

    value = goal_metric(goal, tip_context(metrics, goal))
    return replace(metrics, goal=value if value is not None else 0.0)


def cost(usage: Usage, change: ChangeFacts, seconds: float) -> dict[str, Any]:
    return {
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "usd": usage.cost_usd,
        "seconds": round(seconds, 3),
        "lines": change.lines,
    }


def _records_written(repo: Repository, commit: str, records: tuple[str, ...]) -> tuple[str, ...]:
    """The record paths left out of the judged change. The snapshot and memory entry are
    named by the cycle id (a stamp and a pid nobody can predict); the plan page and the
    questions page have fixed names, so they are left out only once the cycle's records
    are in ``commit`` (its snapshot exists: a re-judged, recorded candidate). Before that,
    a proposal that writes them touches a protected path like any other."""
    if repo.show_file(commit, records[0]) is not None:
        return records
    return records[:2]
