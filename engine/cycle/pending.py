"""Retry of merges that waited for a clean checked-out target (outcome ``pending``).

At the start of a cycle, each pending candidate whose branch is untouched since ratchet
made it is merged when the target is unchanged and its worktree is clean now. When the
target moved, the candidate is rebased onto the new tip, evaluated again and decided
afresh (merged, rejected, review, or pending again). A branch a human has committed to is
left alone and forgotten. At most one pending candidate is settled per cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.model import CycleReport
from engine.records import journal

if TYPE_CHECKING:
    from engine.cycle import Cycle


def retry_pending(cycle: Cycle) -> CycleReport | None:
    """Settle the first pending candidate that can be settled now; its report, or None."""
    repo = cycle.repo
    entries = journal.read_pending(repo.state_dir)
    keep: list[dict[str, Any]] = []
    done: CycleReport | None = None
    for entry in entries:
        branch, commit = str(entry["branch"]), str(entry["commit"])
        target, old = str(entry["target"]), str(entry["target_before"])
        if done is not None or repo.rev_parse(f"refs/heads/{branch}") != commit:
            if repo.rev_parse(f"refs/heads/{branch}") == commit:
                keep.append(entry)
            continue  # gone, or a human committed to it: never touched again
        if repo.rev_parse(f"refs/heads/{target}") != old:
            # Moved: rebased onto the new tip and judged again (it may wait again).
            report = cycle.resume(entry)
            if report is not None:
                journal.append(repo.state_dir, report)
                if report.outcome == "pending":  # still dirty: re-registered, new commit
                    pending = journal.read_pending(repo.state_dir)
                    keep += [e for e in pending if e.get("branch") == branch]
                    continue
                done = report  # whatever it became, this cycle's work is done
            continue
        result = repo.fast_forward(target, commit, old)
        if result.kind in ("updated-ref", "fast-forwarded"):
            repo.delete_branch(branch)
            now = cycle.clock().isoformat(timespec="seconds")
            done = CycleReport(
                cycle_id=str(entry["cycle_id"]),
                goal=str(entry["goal"]),
                outcome="merged",
                message=f"pending merge completed: {target} fast-forwarded",
                branch=branch,
                commit=commit,
                target=target,
                target_before=old,
                target_after=commit,
                started=now,
                finished=now,
            )
            journal.append(repo.state_dir, done)
        else:
            keep.append(entry)
    journal.write_pending(repo.state_dir, keep)
    return done
