"""The cycle's failure memory: the k past failures most like the work at hand.

:func:`similar_failures` opens the store under ``.ratchet/`` (:func:`engine.records.
layout.failure_memory_file`), fills it from the records in git when it is missing (a
fresh clone: :func:`rebuild`), adds the cycle's history it does not hold yet, and asks it
for the ``k`` nearest failures of *any* goal (goal option ``similar_failures``, default
:data:`~engine.records.switches.DEFAULT_SIMILAR`; 0 turns it off) to a query made of the
goal and the refine loop's feedback. The goal's newest rejections, which the prompt already
lists under "Why earlier attempts were rejected" (goal option ``earlier_rejections``), are
left out. The memory never stops a cycle: a store that cannot
be read or written is logged and the prompt goes without it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence

from engine.errors import InputError
from engine.model import Goal
from engine.model.journal import JournalEntry
from engine.recall.embed import Embedder, HashingEmbedder
from engine.recall.store import FailureStore
from engine.records.failures import failure_docs
from engine.records.layout import failure_memory_file
from engine.records.switches import earlier_rejections
from engine.records.switches import similar_failures as wanted
from engine.vcs import Repository

log = logging.getLogger("ratchet")

MIN_SCORE = 0.05  # below this a "neighbour" shares little more than stop-words


EMBEDDER_ENV = "RATCHET_EMBEDDER"
EMBEDDERS = ("auto", "minilm", "hashing")


def default_embedder() -> Embedder:
    """``RATCHET_EMBEDDER``: ``minilm`` (the packaged all-MiniLM-L6-v2, :mod:`engine.recall.
    minilm`; an error when it is not installed), ``hashing`` (:class:`~engine.recall.embed.
    HashingEmbedder`), or ``auto``/unset: MiniLM when installed, else hashing."""
    from engine.recall import minilm

    choice = os.environ.get(EMBEDDER_ENV, "auto").strip().lower() or "auto"
    if choice not in EMBEDDERS:
        raise InputError(
            f"{EMBEDDER_ENV}={choice!r} is not an embedder: use one of {', '.join(EMBEDDERS)}"
        )
    if choice == "minilm" or (choice == "auto" and minilm.available()):
        return minilm.MiniLMEmbedder()
    return HashingEmbedder()


def store_for(repo: Repository, embedder: Embedder | None = None) -> FailureStore:
    return FailureStore(failure_memory_file(repo.state_dir), embedder or default_embedder())


def rebuild(repo: Repository, embedder: Embedder | None = None) -> FailureStore:
    """The store refilled from the records in git (``snapshots/`` on HEAD, ratchet's
    branches, archives and a clone's remote-tracking branches, with the local journal)."""
    from engine.records.history import load_history

    store = store_for(repo, embedder)
    store.path.unlink(missing_ok=True)
    store.sync(failure_docs(load_history(repo)))
    return store


def query_text(goal: Goal, feedback: str = "") -> str:
    scope = " ".join(goal.scope)
    return f"goal: {goal.id}\n{goal.description}\nfiles: {scope}\n{feedback}".strip()


def similar_failures(
    repo: Repository,
    history: Sequence[JournalEntry],
    goal: Goal,
    feedback: str = "",
    embedder: Embedder | None = None,
) -> tuple[str, ...]:
    """Prompt lines for the nearest past failures (module docstring); () when off."""
    k = wanted(goal)
    if k == 0:
        return ()
    try:
        store = store_for(repo, embedder)
        if not store.path.exists():
            store = rebuild(repo, embedder)
        store.sync(failure_docs(history))
        found = store.nearest(
            query_text(goal, feedback),
            k,
            exclude=listed(history, goal.id, earlier_rejections(goal)),
            min_score=MIN_SCORE,
        )
    except (OSError, sqlite3.Error, InputError) as exc:
        log.warning("ratchet: the failure memory was not used: %s", exc)
        return ()
    return tuple(n.line for n in found)


def listed(history: Sequence[JournalEntry], goal_id: str, limit: int) -> set[str]:
    """Cycle ids of the goal's rejections the prompt lists already (the newest ``limit``,
    not a human's: :func:`engine.cycle.selection.rejection_history`)."""
    if limit <= 0:
        return set()
    mine = [
        e.cycle_id
        for e in history
        if e.goal == goal_id
        and e.outcome == "rejected"
        and not (e.data.get("human") or {}).get("action")
    ]
    return set(mine[-limit:])
