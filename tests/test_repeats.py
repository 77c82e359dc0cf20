"""Repeated failures (engine.records.repeats): which attempts count as failed, and which of
those repeat an earlier failure of the same goal. Pure: journal entries in, counts out."""

from __future__ import annotations

from typing import Any

import pytest

from engine.model.journal import JournalEntry
from engine.records.repeats import is_failed, repeated_failures

UNUSABLE = (
    "provider failed: openai_compat:gemma answered with an unusable edit plan after one "
    "repair round: edits[0].code: not valid Python"
)


def entry(n: int, outcome: str, goal: str = "g", **data: Any) -> JournalEntry:
    return JournalEntry.from_json({"cycle_id": f"c{n}", "goal": goal, "outcome": outcome, **data})


def judged(n: int, fingerprint: str, rule: str = "tests-pass", goal: str = "g") -> JournalEntry:
    """A rejected candidate: a diff touching stock.py's total, failed by ``rule``."""
    change = {"files": ["inventory/stock.py"], "symbols": ["inventory/stock.py::total"]}
    rules = [{"id": "lint-ratchet", "passed": True}, {"id": rule, "passed": False}]
    return entry(n, "rejected", goal, fingerprint=fingerprint, change=change, rules=rules)


def refused(n: int, reason: str = "symbol 'totl' not found") -> JournalEntry:
    rules = [{"id": "guard-symbol", "passed": False, "detail": f"edit #0 a.py: {reason}"}]
    return entry(n, "rejected", rules=rules, message="refused before anything ran")


def bad(n: int) -> JournalEntry:
    return entry(n, "error", message=UNUSABLE)


def skip(n: int, fingerprint: str) -> JournalEntry:
    message = "the proposal repeats a change rejected before (c1) under the same rules"
    return entry(n, "nothing-to-do", fingerprint=fingerprint, message=message)


@pytest.mark.parametrize(
    ("e", "failed"),
    [
        (judged(1, "f1"), True),
        (refused(1), True),
        (skip(1, "f1"), True),
        (entry(1, "error", message=UNUSABLE), True),
        (entry(1, "error", message="provider failed: connection refused"), False),
        (entry(1, "budget", message="daily budget reached"), False),
        (entry(1, "nothing-to-do", message="the provider proposed no change"), False),
        (entry(1, "merged", fingerprint="f1"), False),
        (entry(1, "review", fingerprint="f1"), False),
        (entry(1, "question", message="which function?"), False),
    ],
)
def test_which_attempts_are_failed_attempts(e: JournalEntry, failed: bool) -> None:
    assert is_failed(e) is failed


@pytest.mark.parametrize(
    ("entries", "failed", "repeated", "same_diff", "ids"),
    [
        # nothing failed: no rate
        ([entry(1, "merged", fingerprint="f1")], 0, 0, 0, ()),
        # two different changes failing differently: no repeat
        ([judged(1, "f1"), judged(2, "f2", rule="coverage-ratchet")], 2, 0, 0, ()),
        # the same place and rules, another diff: a repeat (not by the diff)
        ([judged(1, "f1"), judged(2, "f2")], 2, 1, 0, ("c2",)),
        # the same diff again (rules changed in between, so it was judged again)
        ([judged(1, "f1"), judged(2, "f1", rule="coverage-ratchet")], 2, 1, 1, ("c2",)),
        # a duplicate skip is a repeat by definition, whatever came before
        ([skip(1, "f9")], 1, 1, 1, ("c1",)),
        ([judged(1, "f1"), skip(2, "f1"), skip(3, "f1")], 3, 2, 2, ("c2", "c3")),
        # the same refusal twice; a different refusal is not the same failure
        ([refused(1), refused(2), refused(3, "file outside the scope")], 3, 1, 0, ("c2",)),
        # the same unusable answer twice
        ([bad(1), bad(2)], 2, 1, 0, ("c2",)),
        # another goal's failure is not this goal's repeat
        ([judged(1, "f1", goal="a"), judged(2, "f2", goal="b")], 2, 0, 0, ()),
        # successes in between do not reset the memory of a failure
        ([judged(1, "f1"), entry(2, "merged"), judged(3, "f4")], 2, 1, 0, ("c3",)),
    ],
)  # fmt: skip
def test_repeated_failures(
    entries: list[JournalEntry], failed: int, repeated: int, same_diff: int, ids: tuple[str, ...]
) -> None:
    r = repeated_failures(entries)
    assert (r.failed, r.repeated, r.same_diff, r.repeated_ids) == (failed, repeated, same_diff, ids)
    assert r.rate == (repeated / failed if failed else None)


def test_rates_and_what_is_left_out() -> None:
    human = entry(9, "rejected", fingerprint="f1", human={"action": "rejected", "reason": "no"})
    again = judged(2, "f2")  # recorded twice (the last record counts once)
    r = repeated_failures([judged(1, "f1"), again, again, human, entry(5, "error", goal="")])
    assert (r.attempts, r.failed, r.repeated) == (2, 2, 1)
    assert r.rate == 0.5
    assert r.per_cycle(4) == 0.25
    assert r.per_cycle(0) is None
    assert repeated_failures([]).rate is None
