"""What "the gate" is, as one declared list: the code a candidate may never edit.

The gate is everything on the path from measurement to the merge decision and the ref
update: what is measured and how (``engine/gate/``: sandbox, probes, guards, rules, ROI,
paths, the decision), the values it judges (``engine/model/``), how the objective is read
(``engine/config/``), the git safety config and the compare-and-swap ref update
(``engine/vcs/``), the cycle that acts on the decision (``engine/cycle/``), the layout of
``.ratchet/`` that says where the baseline cache and the worktrees are
(``engine/records/layout.py``), the composition root that chooses the sandboxed measurer
(``engine/compose.py``), the error tree those raise (``engine/errors.py``) and the
sections a SIGTERM may not split (``engine/interrupts.py``).

:data:`engine.gate.paths.BUILTIN_PROTECTED` is derived from :data:`GATE`, so a new module
inside one of these packages is protected by construction. ``tests/test_gate_boundary.py``
proves that every engine module the decision imports (transitively, function-level
imports included) is covered. These paths only exist when ratchet improves itself; in
any other repository they match nothing.
"""

from __future__ import annotations

GATE: tuple[str, ...] = (
    "engine/gate/**",
    "engine/model/**",
    "engine/config/**",
    "engine/vcs/**",
    "engine/cycle/**",
    "engine/records/__init__.py",
    "engine/records/layout.py",
    "engine/compose.py",
    "engine/checking.py",  # what `ratchet check` reports: the humans' own validation
    "engine/errors.py",
    "engine/interrupts.py",  # a SIGTERM never splits a git call (engine/vcs/git.py)
    "engine/redact.py",  # the one redactor: secrets never reach a record or a log
    "engine/__init__.py",
)

# The modules where the decision starts: everything they import must be in GATE.
# The merge step (the ref update) is a root too. The cycle treats the provider, the patcher
# and the record writer as untrusted producers: the gate recounts the change from git, and
# the merge step lands only a commit that differs from the evaluated one in its records.
DECISION_ROOTS: tuple[str, ...] = (
    "engine.gate.decision",
    "engine.gate.measure",
    "engine.cycle.merge",
)
