"""Lessons distilled from a goal's records: what kind of change gets rejected, by which
rule, in which files. Pure: no I/O.

Every ``N`` attempts at a goal (goal option ``lessons_every``, default
:data:`~engine.records.switches.DEFAULT_LESSONS_EVERY`; 0 distils none) the record commit
of the N-th attempt also carries ``memory-bank/lessons/<goal>.md`` (:func:`lessons_path`),
rendered by :func:`distil` from the goal's attempts so far. Only a *rejected* attempt's
record commit carries it: a commit that may land holds nothing but its own cycle's records
(the gate's rule, :func:`engine.gate.change.smuggled_paths`), so when the N-th attempt
lands or waits for review, the file waits for attempt 2N. The same text is regenerated
from the records for the prompt (:func:`current_lessons`), so a fresh clone, which has no
local journal, gets the same lessons. An attempt is an entry with an outcome in :data:`ATTEMPTED`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from engine.model.journal import JournalEntry
from engine.records.failures import failure_doc

LESSONS_DIR = "memory-bank/lessons"
ATTEMPTED = frozenset({"merged", "rejected", "review", "pending"})
_SHOWN = 5  # rules, files and recent failures listed


def lessons_path(goal_id: str) -> str:
    return f"{LESSONS_DIR}/{goal_id}.md"


def attempts_of(entries: Sequence[JournalEntry], goal_id: str) -> list[JournalEntry]:
    """The goal's attempts, oldest first, one per cycle id."""
    seen: dict[str, JournalEntry] = {}
    for e in entries:
        if e.goal == goal_id and e.outcome in ATTEMPTED:
            seen[e.cycle_id] = e
    return sorted(seen.values(), key=lambda e: (e.started, e.cycle_id))


def due(attempts: Sequence[JournalEntry], every: int) -> bool:
    """Whether the newest of ``attempts`` writes the lessons file: it is the N-th (2N-th,
    ...) and was rejected. Never when ``every`` is 0 (lessons off)."""
    if every <= 0 or not attempts:
        return False
    return len(attempts) % every == 0 and attempts[-1].outcome == "rejected"


def current_lessons(entries: Sequence[JournalEntry], goal_id: str, every: int) -> str:
    """The text of the newest lessons file of the goal ("" before the first): the
    distillation as of the last attempt that wrote one."""
    attempts = attempts_of(entries, goal_id)
    for n in range(len(attempts), 0, -1):
        if due(attempts[:n], every):
            return distil(goal_id, attempts[:n], every)
    return ""


def distil(goal_id: str, attempts: Sequence[JournalEntry], every: int) -> str:
    """The lessons file for ``attempts`` (the goal's, oldest first): counts of outcomes,
    the rules that rejected changes (with one cause each), the files most often in a
    rejected change, and the newest failures. Bullet lines (``- ``) are what a prompt
    shows."""
    outcomes = Counter(e.outcome for e in attempts)
    docs = [d for d in (failure_doc(e) for e in attempts) if d is not None]
    rules: Counter[str] = Counter(r for d in docs for r in d.rules)
    example = {r: d.cause for d in reversed(docs) for r in d.rules if d.cause}
    files: Counter[str] = Counter(f for d in docs for f in d.files)
    tally = ", ".join(f"{outcomes[o]} {o}" for o in sorted(outcomes))
    lines = [
        f"# Lessons for goal `{goal_id}`",
        "",
        f"Distilled by ratchet from the records of {len(attempts)} attempts (every {every}; "
        "regenerated, do not edit — the humans' lessons are memory-bank/lessons.md).",
        "",
        f"- {len(attempts)} attempts at goal {goal_id}: {tally}.",
    ]
    if rules:
        lines += ["", "## Rejected by"]
        for rule, n in rules.most_common(_SHOWN):
            cause = f" — e.g. {example[rule]}" if rule in example else ""
            lines.append(f"- rule {rule} rejected {n} of {len(docs)} failed changes{cause}")
    if files:
        lines += ["", "## Files in rejected changes"]
        for file, n in files.most_common(_SHOWN):
            lines.append(f"- {file}: in {n} of {len(docs)} rejected changes")
    if docs:
        lines += ["", "## Newest failures (do not repeat them)"]
        lines += [f"- {d.line}" for d in docs[-_SHOWN:]]
    return "\n".join(lines) + "\n"


def bullets(text: str) -> tuple[str, ...]:
    """The ``- `` lines of a lessons text, without the marker."""
    return tuple(line[2:].strip() for line in text.splitlines() if line.startswith("- "))
