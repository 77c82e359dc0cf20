"""Retry of merges that waited for a clean checked-out target (outcome ``pending``).

At the start of a cycle, each pending candidate whose branch is untouched since ratchet
made it is merged when the target is unchanged and its worktree is clean now. A target
that moved sends the candidate back through evaluation on the new tip (as a fresh
attempt of its goal); a branch a human has committed to is left alone and forgotten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.memory import journal
from engine.model import CycleReport

if TYPE_CHECKING:
    from engine.cycle import Cycle


def retry_pending(cycle: Cycle) -> CycleReport | None:
    """Merge the first pending candidate that can be merged now; its report, or None."""
    repo = cycle.repo
    entries = journal.read_pending(repo.state_dir)
    keep = []
    merged: CycleReport | None = None
    for entry in entries:
        branch, commit = str(entry["branch"]), str(entry["commit"])
        target, old = str(entry["target"]), str(entry["target_before"])
        if merged is not None or repo.rev_parse(f"refs/heads/{branch}") != commit:
            if repo.rev_parse(f"refs/heads/{branch}") == commit:
                keep.append(entry)
            continue  # gone, or a human committed to it: never touched again
        if repo.rev_parse(f"refs/heads/{target}") != old:
            # Moved: the candidate must be judged again on the new tip; archive this
            # one so nothing is lost and let the goal's next attempt redo the work.
            n = branch.rsplit("/", 1)[1]
            repo.archive(f"refs/ratchet/rejected/{entry['goal']}/{n}", commit)
            repo.delete_branch(branch)
            continue
        result = repo.fast_forward(target, commit, old)
        if result.kind in ("updated-ref", "fast-forwarded"):
            repo.delete_branch(branch)
            now = cycle.clock().isoformat(timespec="seconds")
            merged = CycleReport(
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
            journal.append(repo.state_dir, merged)
        else:
            keep.append(entry)
    journal.write_pending(repo.state_dir, keep)
    return merged
