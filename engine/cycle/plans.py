"""Plans for broad goals: a goal whose scope holds many targets, decomposed into ranked
sub-tasks, one per cycle, tracked in ``memory-bank/plans/<goal>.md``.

A sub-task is one function (``file:qualname``). They are ranked worst first by
``complexity x (1 + churn) x (1 + uncovered share)``:

- complexity: 1 + branch points of the function (:mod:`engine.providers.repomap`, the
  same count the context uses to pick targets);
- churn: how many of the last 500 commits of the target changed its file (git log);
- uncovered share: ``1 - coverage/100`` of its file in the baseline's coverage (a file
  the measurement does not know counts as uncovered).

Which sub-tasks are done, failed or next is read from the records (each attempt of a
planned goal records its ``subtask``), so the plan is regenerable: ``done`` = an attempt
at it merged (or it no longer ranks: the function is gone or simple now), ``review`` = one
waits for a human, ``failed`` = its attempts were rejected, errored or proposed nothing.
The next sub-task is the first of the rest, failures last: each failure moves a sub-task
behind every one that failed less often. goals.yaml is never written: the plan lives in
the records. Pure functions; :func:`rank_scope` is the one reader (files and git).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.model import Goal
from engine.model.journal import JournalEntry

AUTO_MIN_SUBTASKS = 12
"""Without ``options.decompose``, a goal is planned when its scope ranks this many."""
DEFAULT_SIZE = 20
MIN_COMPLEXITY = 2  # a function without a branch is not worth a cycle of its own
_FAILED = frozenset({"rejected", "error", "nothing-to-do", "refused"})


@dataclass(frozen=True, kw_only=True)
class SubTask:
    key: str  # "file:qualname"
    complexity: int
    churn: int
    coverage: float  # percent of its file
    score: float


@dataclass(frozen=True, kw_only=True)
class Step:
    """One sub-task's place in the plan, and the attempts that worked on it."""

    task: SubTask | None  # None: done, and it no longer ranks
    key: str
    state: str  # done | review | failed | next
    failures: int = 0
    attempts: tuple[JournalEntry, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Plan:
    goal: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def next(self) -> Step | None:
        return next((s for s in self.steps if s.state in ("next", "failed")), None)

    def progress(self) -> dict[str, object]:
        """``{"done", "review", "failed", "left", "next"}`` as recorded with each attempt."""
        count = {k: sum(1 for s in self.steps if s.state == k) for k in ("done", "review")}
        left = [s for s in self.steps if s.state in ("next", "failed")]
        return {
            **count,
            "failed": sum(1 for s in left if s.failures),
            "left": len(left),
            "next": left[0].key if left else "",
        }


def score(complexity: int, churn: int, coverage: float) -> float:
    return complexity * (1 + churn) * (1 + max(0.0, 100.0 - coverage) / 100.0)


def rank(
    functions: Iterable[tuple[str, str, int]],
    churn: Mapping[str, int],
    coverage: Mapping[str, float],
    size: int = DEFAULT_SIZE,
) -> list[SubTask]:
    """``(file, qualname, complexity)`` ranked worst first, the ``size`` worst kept."""
    tasks = [
        SubTask(
            key=f"{file}:{name}",
            complexity=cx,
            churn=churn.get(file, 0),
            coverage=coverage.get(file, 0.0),
            score=score(cx, churn.get(file, 0), coverage.get(file, 0.0)),
        )
        for file, name, cx in functions
        if cx >= MIN_COMPLEXITY
    ]
    tasks.sort(key=lambda t: (-t.score, t.key))
    return tasks[:size]


def rank_scope(
    texts: Mapping[str, str],
    churn: Mapping[str, int],
    coverage: Mapping[str, float],
    size: int = DEFAULT_SIZE,
) -> list[SubTask]:
    """The ranked sub-tasks of the in-scope files (``texts``: path -> source at the tip)."""
    from engine.providers.repomap import index_source

    functions: list[tuple[str, str, int]] = []
    for file, text in texts.items():
        if file.endswith(".py"):
            index = index_source(file, text)
            functions += [
                (file, s.qualname, s.complexity) for s in index.symbols if s.kind != "class"
            ]
    return rank(functions, churn, coverage, size)


def may_plan(goal: Goal, provider: str) -> bool:
    """Whether ``goal`` can be planned at all (checked before anything is read): not with
    ``decompose: false``, and — unless ``decompose: true`` — not when it names
    ``symbols`` or its provider is ruff (whose fixes are per file, worst first already)."""
    option = goal.options.get("decompose")
    if option is not None:
        return bool(option)
    return provider != "ruff" and not goal.options.get("symbols")


def wanted(goal: Goal, ranked: Sequence[SubTask], provider: str) -> bool:
    """Whether ``goal`` is planned: ``options.decompose: true`` (and anything ranks), or,
    without the option, :func:`may_plan` and a scope ranking :data:`AUTO_MIN_SUBTASKS`."""
    if not may_plan(goal, provider) or not ranked:
        return False
    return goal.options.get("decompose") is not None or len(ranked) >= AUTO_MIN_SUBTASKS


def plan_state(goal_id: str, ranked: Sequence[SubTask], history: Iterable[JournalEntry]) -> Plan:
    """Where each sub-task stands after the recorded attempts (see the module docstring)."""
    attempts: dict[str, list[JournalEntry]] = {}
    for entry in history:
        key = entry.data.get("subtask")
        if entry.goal == goal_id and isinstance(key, str) and key:
            attempts.setdefault(key, []).append(entry)
    current = {t.key: t for t in ranked}
    steps: list[Step] = []
    for key, tries in attempts.items():
        outcomes = {e.outcome for e in tries}
        if "merged" in outcomes or key not in current:
            steps.append(Step(task=current.get(key), key=key, state="done", attempts=tuple(tries)))
        elif outcomes & {"review", "pending"}:
            steps.append(Step(task=current[key], key=key, state="review", attempts=tuple(tries)))
    settled = {s.key for s in steps}
    rest = []
    for position, task in enumerate(ranked):
        if task.key in settled:
            continue
        tries = attempts.get(task.key, [])
        failures = sum(1 for e in tries if e.outcome in _FAILED)
        state = "failed" if failures else "next"
        rest.append(
            (
                failures,
                position,
                Step(
                    task=task, key=task.key, state=state, failures=failures, attempts=tuple(tries)
                ),
            )
        )
    rest.sort(key=lambda item: (item[0], item[1]))
    return Plan(goal=goal_id, steps=tuple(steps) + tuple(step for *_, step in rest))


def render_plan(plan: Plan, goal: Goal, forecast: str = "") -> str:
    """``memory-bank/plans/<goal>.md``: progress, then done / review / next / failed, each
    with the candidates that worked on it."""
    p = plan.progress()
    lines = [
        f"# Plan: {goal.id}",
        "",
        f"{goal.description.strip()}",
        "",
        f"- progress: {p['done']} done, {p['review']} in review, {p['left']} left "
        f"({p['failed']} failed at least once)",
        f"- next: `{p['next']}`" if p["next"] else "- next: (nothing left)",
    ]
    if goal.done_when:
        lines.append(f"- done when: `{goal.done_when}`" + (f" — {forecast}" if forecast else ""))
    lines += [
        "",
        "Sub-tasks ranked worst first by complexity x (1 + churn) x (1 + uncovered share);",
        "a failure moves a sub-task behind the others. Regenerated from the records.",
    ]
    groups = (
        ("Done", "done"),
        ("In review", "review"),
        ("Next", "next"),
        ("Failed (moved to the back)", "failed"),
    )
    for title, state in groups:
        chosen = [s for s in plan.steps if s.state == state]
        if not chosen:
            continue
        lines += ["", f"## {title}", ""]
        for n, s in enumerate(chosen, 1):
            head = f"{n}. `{s.key}`"
            if s.task is not None:
                t = s.task
                head += f" — complexity {t.complexity}, churn {t.churn}, coverage {t.coverage:.0f}%"
            if s.failures:
                head += f", failed {s.failures}x"
            lines.append(head)
            lines += [f"   - {_link(e)}" for e in s.attempts]
    return "\n".join(lines) + "\n"


def _link(entry: JournalEntry) -> str:
    """Where an attempt's candidate is: its commit and ref, and its memory-bank entry."""
    where = entry.rejected_ref or entry.branch or ""
    commit = f" `{entry.commit[:12]}`" if entry.commit else ""
    ref = f" ({where})" if where else ""
    text = f"{entry.outcome}{commit}{ref}: {entry.summary or entry.message}"
    recorded = entry.commit or entry.outcome not in ("nothing-to-do", "error", "budget")
    return text + (f" — [record](../cycles/{entry.cycle_id}.md)" if recorded else "")
