"""What a cycle remembers before it proposes: the journal plus the human decisions kept in
git, and the fingerprint of the rules a change was judged under.

The duplicate check (:func:`engine.records.decisions.blocked`) keys on the diff *and* the
rules' fingerprint: a change the rules rejected may be tried again once the rules (or the
guard set, or the merge mode) changed; a change a human rejected or reverted never is.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.cycle.fingerprint import rules_fingerprint
from engine.model.journal import JournalEntry
from engine.records.decisions import reverts_in_git
from engine.records.review import human_rejections_in_git
from engine.vcs import Repository


def decisions_in_git(repo: Repository, target: str) -> tuple[JournalEntry, ...]:
    """The human decisions kept in git (a fresh clone has no journal): rejections under
    ``refs/ratchet/rejected/`` and reverts on ``target``. Read once per cycle: nothing
    inside a cycle adds one."""
    found = (*human_rejections_in_git(repo), *reverts_in_git(repo, target))
    return tuple(JournalEntry.from_json(entry) for entry in found)


def cycle_history(
    journal: Sequence[JournalEntry], decisions: Sequence[JournalEntry]
) -> list[JournalEntry]:
    """``journal``, then the ``decisions`` found in git that it does not hold."""
    entries = list(journal)
    known = {e.cycle_id for e in entries if (e.data.get("human") or {}).get("action")}
    return entries + [d for d in decisions if d.cycle_id not in known]


__all__ = ["cycle_history", "decisions_in_git", "rules_fingerprint"]
