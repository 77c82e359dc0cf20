"""Every exit code ratchet uses, in one place (the README's "Exit codes" table mirrors it).

The ``ratchet`` commands exit with these, the daemon reads them back from its
``run-once`` children, and the systemd unit lists the ones a restart cannot fix. This
module imports nothing, so the daemon may import it without pulling in the CLI.
"""

from __future__ import annotations

EXIT_OK = 0  # done: merged, rejected, review, pending, nothing-to-do
EXIT_ERROR = 1  # internal or environment error; `stop` timed out
EXIT_CONFIG = 2  # bad configuration, argument or input file; unusable repository
EXIT_LOCKED = 3  # another cycle or daemon holds the repository's lock
EXIT_CYCLE_FAILED = 4  # run-once: the cycle ended in `error` or `budget` (cron/CI notice)
EXIT_NOT_APPLIED = 5  # revert / review accept made no change to the target branch
EXIT_AUDIT_FAILED = 6  # audit: the gate merged a trap candidate (a gaming change got through)
EXIT_FLEET_INVALID = 7  # fleet: the fleet file is invalid (FILE:LINE:COL: field: problem; fix)
EXIT_ORPHANED = 75  # a daemon child whose daemon died before it started (EX_TEMPFAIL)
EXIT_TERMINATED = 143  # stopped by SIGTERM (128 + 15, as a shell reports it), cleaned up first

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done (run-once: merged, rejected, review, pending or nothing-to-do)",
    EXIT_ERROR: "internal or environment error (the message says what to do)",
    EXIT_CONFIG: "bad configuration, argument or input file, or an unusable repository",
    EXIT_LOCKED: "another cycle or daemon holds the repository's lock",
    EXIT_CYCLE_FAILED: "run-once: the cycle's outcome was `error` or `budget`",
    EXIT_NOT_APPLIED: "revert or review accept did not move the target branch (says why)",
    EXIT_AUDIT_FAILED: "audit: the gate merged a trap goal's candidate (a gate hole)",
    EXIT_FLEET_INVALID: "fleet: the fleet file is invalid (no member was started)",
    EXIT_ORPHANED: "a daemon's cycle child found its daemon gone before it started",
    EXIT_TERMINATED: "stopped by SIGTERM; the attempt was archived and cleaned up first",
}

# A restart of the daemon cannot fix these: systemd waits for a human instead.
NO_RESTART: tuple[int, ...] = (EXIT_CONFIG, EXIT_LOCKED)
