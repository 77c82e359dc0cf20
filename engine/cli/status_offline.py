"""``ratchet status`` when no daemon runs: what is true now, read from the repository.

The daemon's status file is only as fresh as the daemon that wrote it, so without a
running daemon the configuration, goals, last outcomes (journal + git history) and the
pending and review candidates (git refs: a deleted branch disappears, a new one appears)
are read afresh. A configuration that cannot be read is reported as such, never "ok".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.model import Goal
    from engine.model.journal import JournalEntry
    from engine.vcs import Repository


@dataclass(frozen=True, kw_only=True)
class OfflineStatus:
    """What ``status`` shows without a daemon (``to_json`` for ``--json``)."""

    configuration: str  # "ok" | "invalid" | "missing"
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()  # "id (status)"
    target: str = ""
    last_outcomes: tuple[dict[str, Any], ...] = ()
    review: tuple[str, ...] = ()  # candidate ids awaiting review
    pending: tuple[str, ...] = ()
    cycles: int = 0  # cycles recorded (journal + git)
    push: str = ""  # the last push (directives.push), "" when none was made
    notes: tuple[str, ...] = field(default_factory=tuple)
    questions: tuple[str, ...] = ()  # "3 goal (open): text", open ones first
    plans: tuple[str, ...] = ()  # "goal: progress ...; next ...; forecast"

    def to_json(self) -> dict[str, Any]:
        return {
            "configuration": self.configuration,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "goals": list(self.goals),
            "target": self.target,
            "last_outcomes": list(self.last_outcomes),
            "review_candidates": list(self.review),
            "pending_candidates": list(self.pending),
            "cycles": self.cycles,
            "push": self.push,
            "notes": list(self.notes),
            "questions": list(self.questions),
            "plans": list(self.plans),
        }


def read_offline_status(root: Path) -> OfflineStatus:
    """Read the configuration, history and candidates of the repository at ``root``."""
    from engine.config import load_config
    from engine.errors import ConfigError, RatchetError
    from engine.records.history import load_history
    from engine.records.review import awaiting_review
    from engine.vcs import ListedRefs

    repo = ListedRefs(root)  # one listing of its refs: status reads them many times
    files = [root / "goals.yaml", root / "directives.yaml"]
    notes: list[str] = []
    config = None
    problems: tuple[str, ...] = ()
    if not all(f.is_file() for f in files):
        state = "missing"
        problems = ("goals.yaml or directives.yaml is missing: run `ratchet init`",)
    else:
        try:
            config = load_config(root)
            state = "ok"
        except ConfigError as exc:
            state = "invalid"
            problems = tuple(str(exc).splitlines())
        except RatchetError as exc:  # unreadable in another way: never "ok"
            state = "invalid"
            problems = (str(exc),)
    target = ""
    if config is not None:
        target = config.directives.target_branch or repo.current_branch() or ""
    else:
        target = repo.current_branch() or ""
    entries = load_history(repo)
    history = [e.to_json() for e in entries]
    candidates = awaiting_review(repo, target, history) if target else []
    warnings = tuple(w.render() for w in config.warnings) if config else ()
    notes.append(
        "nothing runs cycles now: the daemon is not running; start it (`ratchet start`, "
        "`ratchet install-service`) or run `ratchet run-once` from cron/CI"
    )
    shown = [
        {
            "finished": str(e.get("finished") or e.get("started") or ""),
            "goal": str(e.get("goal") or "-"),
            "outcome": str(e.get("outcome") or ""),
            "message": str(e.get("message") or ""),
        }
        for e in history[-5:][::-1]
    ]
    return OfflineStatus(
        configuration=state,
        problems=problems,
        warnings=warnings,
        goals=tuple(f"{g.id} ({g.status})" for g in config.goals) if config else (),
        target=target,
        last_outcomes=tuple(shown),
        review=tuple(c.id for c in candidates if c.decision == "review"),
        pending=tuple(c.id for c in candidates if c.decision == "pending"),
        cycles=sum(1 for e in history if e.get("outcome") not in ("nothing-to-do", "push-failed")),
        push=_last_push(repo.state_dir),
        notes=tuple(notes),
        questions=question_lines(entries, config.goals if config else ()),
        plans=plan_lines(repo, entries, config.goals if config else ()),
    )


def outlook_section(questions: Sequence[str], plans: Sequence[str]) -> list[str]:
    """The status lines of the questions and the plans/forecasts (pure)."""
    lines = []
    if questions:
        lines.append("  questions:     (answer with answers: {N: ...} on the goal in goals.yaml)")
        lines += [f"    {q}" for q in questions]  # whole: the human must read it
    if plans:
        lines.append("  plans:")
        lines += [f"    {p}" for p in plans]
    return lines


def read_outlook(root: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Questions and plan lines of the repository at ``root`` (a running daemon's status
    shows them too); empty when the configuration cannot be read."""
    from engine.config import load_config
    from engine.errors import RatchetError
    from engine.records.history import load_history
    from engine.vcs import Repository

    try:
        goals = load_config(root).goals
    except RatchetError:
        return (), ()
    repo = Repository(root)
    entries = load_history(repo)
    return question_lines(entries, goals), plan_lines(repo, entries, goals)


def question_lines(entries: Sequence[JournalEntry], goals: Sequence[Goal]) -> tuple[str, ...]:
    """Every question ratchet asked, open ones first: ``"1 parse (open): ..."``."""
    from engine.cycle.questions import asked

    answers = {g.id: g.answers for g in goals}
    lines = [
        (q.number in answers.get(q.goal, {}), f"{q.number} {q.goal}", q.text)
        for q in asked(entries)
    ]
    return tuple(
        f"{head} ({'answered' if done else 'OPEN'}): {text}"
        for done, head, text in sorted(lines, key=lambda line: line[0])
    )


def plan_lines(
    repo: Repository, entries: Sequence[JournalEntry], goals: Sequence[Goal]
) -> tuple[str, ...]:
    """Per goal with a plan or a forecastable ``done_when``: its progress, next sub-task
    and forecast (:mod:`engine.records.planview`)."""
    from engine.records.planview import goal_outlook

    lines = []
    for goal in goals:
        parts = goal_outlook(repo, entries, goal)
        if parts:
            lines.append(f"{goal.id}: " + "; ".join(parts))
    return tuple(lines)


def _last_push(state_dir: Path) -> str:
    # push.json read here, not through engine.push.pusher.load_state: importing the pusher
    # (gh, PR descriptions, causes) would add ~20 ms to every `ratchet status`
    from engine.daemon.status import read_json
    from engine.records.layout import push_state_file

    state = read_json(push_state_file(state_dir), {})
    last = state.get("last") if isinstance(state, dict) else None
    if not isinstance(last, dict):
        return ""
    errors = [str(e) for e in last.get("errors") or []]
    head = "FAILED" if errors else "ok"
    what = f"{len(last.get('pushed') or [])} ref(s) to {last.get('remote')} at {last.get('at')}"
    return f"{head}: {what}" + (f"; {'; '.join(errors)}" if errors else "")


def render_offline(repo: Path, s: OfflineStatus, *, paused: bool) -> list[str]:
    """The human-readable status (pure)."""
    lines = [f"ratchet daemon for {repo}: not running" + ("  [PAUSED]" if paused else "")]
    if s.configuration == "ok":
        lines.append(f"  configuration: ok, {len(s.goals)} goal(s), target {s.target or '-'}")
    elif s.configuration == "missing":
        lines.append("  configuration: MISSING")
    else:
        lines.append("  configuration: INVALID")
    lines += [f"    {p}" for p in s.problems]
    lines += [f"    {w}" for w in s.warnings]
    if s.goals:
        lines.append(f"  goals:         {', '.join(s.goals)}")
    lines.append(f"  cycles:        {s.cycles} recorded (nothing-to-do not counted)")
    lines.append(f"  review:        {', '.join(s.review) or 'none'}")
    if s.push:
        lines.append(f"  push:          {s.push}")
    if s.pending:
        lines.append(f"  pending:       {', '.join(s.pending)}")
    lines += outlook_section(s.questions, s.plans)
    if s.last_outcomes:
        lines.append("  last outcomes:")
        for o in s.last_outcomes:
            lines.append(
                f"    {o['finished']:<25} {o['goal']:<16} {o['outcome']:<13} {o['message'][:60]}"
            )
    lines += [f"  warning: {n}" for n in s.notes]
    if paused:
        lines.append("  paused: applies when the daemon starts (`ratchet resume` lifts it)")
    return lines
