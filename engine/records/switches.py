"""The goal options that turn each learned-memory channel of the prompt up, down or off.

Three sections of a proposal's prompt are learned from earlier cycles' records:

=======================  ========================================  =======  ========
goal option              prompt section                            default  off
=======================  ========================================  =======  ========
``similar_failures: K``  "Already tried, and why it failed" (the   3        0
                         K nearest past failures, any goal;
                         :mod:`engine.recall`)
``lessons_every: N``     "Lessons distilled from this goal's       5        0
                         records" (and the file
                         ``memory-bank/lessons/<goal>.md``;
                         :mod:`engine.records.distil`)
``earlier_rejections:``  "Why earlier attempts were rejected" (the 5        0
``N``                    goal's newest N rejections by the rules;
                         :func:`engine.cycle.selection.rejection_history`)
=======================  ========================================  =======  ========

:data:`MEMORY_OFF` sets all three to 0: the prompt then carries nothing learned from
earlier cycles. What stays, whatever these say: the humans' words (``memory-bank/
lessons.md``, the reasons of a human's reject or revert, the answers to questions), the
refine loop's "Why attempt N failed" inside one cycle (the retry of the change at hand,
not memory of earlier cycles), and the duplicate check that never evaluates a rejected
diff again (a gate rule, not a prompt section). Pure: reads ``goal.options`` only.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.model import Goal

DEFAULT_SIMILAR = 3
DEFAULT_LESSONS_EVERY = 5
DEFAULT_EARLIER_REJECTIONS = 5

MEMORY_OFF: Mapping[str, int] = {
    "similar_failures": 0,
    "lessons_every": 0,
    "earlier_rejections": 0,
}
"""Goal options that switch every learned-memory channel of the prompt off."""


def similar_failures(goal: Goal) -> int:
    """How many similar past failures the prompt shows (0: none, the store is not read)."""
    return max(0, int(goal.options.get("similar_failures", DEFAULT_SIMILAR)))


def lessons_every(goal: Goal) -> int:
    """Every how many attempts lessons are distilled (0: never, and none in the prompt)."""
    return max(0, int(goal.options.get("lessons_every", DEFAULT_LESSONS_EVERY)))


def earlier_rejections(goal: Goal) -> int:
    """How many of the goal's newest rejections the prompt lists (0: none)."""
    return max(0, int(goal.options.get("earlier_rejections", DEFAULT_EARLIER_REJECTIONS)))
