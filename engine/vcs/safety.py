"""The git safety config: one list, prepended to every git command ratchet runs.

User, repository or candidate config must not make ratchet run hooks (hooks are repository
code), sign (prompt for a key), stash the user's changes, record rerere state, or move other
refs as a side effect. :class:`engine.vcs.git.Git` adds these ``-c`` options to every call it
makes, so no caller can forget them; this module is part of the gate
(``engine/gate/boundary.py``): a candidate can never edit it.
"""

from __future__ import annotations

SAFE_CONFIG: tuple[str, ...] = (
    *("-c", "core.hooksPath=/dev/null"),
    *("-c", "commit.gpgSign=false"),
    *("-c", "tag.gpgSign=false"),
    *("-c", "merge.autoStash=false"),
    *("-c", "rebase.autoStash=false"),
    *("-c", "rebase.updateRefs=false"),
    *("-c", "rerere.enabled=false"),
    *("-c", "advice.detachedHead=false"),
)
