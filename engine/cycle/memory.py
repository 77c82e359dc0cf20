"""What a cycle remembers before it proposes: the journal plus the human decisions kept in
git, and the fingerprint of the rules a change was judged under.

The duplicate check (:func:`engine.records.decisions.blocked`) keys on the diff *and* the
rules' fingerprint: a change the rules rejected may be tried again once the rules (or the
guard set, or the merge mode) changed; a change a human rejected or reverted never is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from engine.config import Config
from engine.model.journal import JournalEntry
from engine.records.decisions import reverts_in_git
from engine.records.review import human_rejections_in_git
from engine.vcs import Repository


def rules_fingerprint(config: Config) -> str:
    """Identity of the judgement a candidate gets: every rule (id, when, require, on_fail),
    the guard set, the merge mode and the protected-path policy. Rule order, descriptions
    and source locations do not count."""
    from engine.gate.guards import GUARD_IDS

    directives = config.directives
    data = {
        "rules": sorted(
            [r.id, r.when or "", " ".join(r.require.split()), r.on_fail] for r in config.rules
        ),
        "guards": sorted(GUARD_IDS),
        "merge": directives.merge,
        "on_protected": directives.on_protected,
    }
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cycle_history(
    repo: Repository, target: str, journal: Sequence[JournalEntry]
) -> list[JournalEntry]:
    """``journal``, then the human decisions found in git that it does not hold (a fresh
    clone has no journal): rejections under ``refs/ratchet/rejected/`` and reverts on
    ``target``."""
    entries = list(journal)
    known = {e.cycle_id for e in entries if (e.data.get("human") or {}).get("action")}
    for extra in (*human_rejections_in_git(repo), *reverts_in_git(repo, target)):
        if str(extra.get("cycle_id")) not in known:
            entries.append(JournalEntry.from_json(extra))
    return entries
