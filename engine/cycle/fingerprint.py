"""The rules' fingerprint: the identity of the judgement a candidate gets.

Part of the decision's import closure (:mod:`engine.cycle.merge` records it), so it imports
nothing outside the gate at module level.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config import Config


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
