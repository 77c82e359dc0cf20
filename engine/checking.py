"""What ``ratchet check`` reports for one repository, wired to its git state: one place for
the command and for each member of a fleet (``engine/fleet/members.py``).

Kept out of ``compose.py`` so ``ratchet check`` does not import the gate."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config.environment import CheckReport
    from engine.vcs import Repository


def check_report(repository: Repository) -> CheckReport:
    """The configuration of ``repository`` read and checked against its tracked files,
    remotes, environment and the questions its records asked."""
    from engine.config.environment import check_repository
    from engine.vcs.remote import remotes

    def tracked(branch: str | None) -> list[str] | None:
        target = branch or repository.current_branch() or "HEAD"
        return repository.ls_files(target) if repository.rev_parse(target) else None

    def questions() -> dict[str, set[int]]:
        from engine.cycle.questions import asked_by_goal
        from engine.records.history import load_history

        return asked_by_goal(load_history(repository))

    return check_repository(
        repository.root,
        tracked=tracked,
        env=os.environ,
        remotes=lambda: remotes(repository),
        questions=questions,
    )
