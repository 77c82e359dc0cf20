"""The whole recorded history of a repository as ``log`` and ``report`` show it: the journal
merged with the snapshots kept in git (:func:`engine.records.history.load_history`), the
reverts of ratchet commits on the target (a plain ``git revert`` included), and review
entries settled by what a human did with plain git (:func:`engine.records.logview.settle`).
Oldest first; works from a fresh clone (no ``.ratchet/``)."""

from __future__ import annotations

from typing import Any

from engine.records.decisions import reverts_in_git
from engine.records.history import load_history
from engine.records.logview import settle
from engine.vcs import BRANCH_REFS, Repository


def history_target(repository: Repository) -> str | None:
    """The branch whose history ``log`` and ``report`` show: directives' ``target_branch``,
    else the checked-out branch. A broken directives.yaml must not hide the history, so it
    falls back to the checked-out branch (``ratchet check`` names the error)."""
    from engine.config import load_directives

    try:
        return load_directives(repository.root).target_branch or repository.current_branch()
    except Exception:  # noqa: BLE001 - any config error: the history is still readable
        return repository.current_branch()


def full_history(repository: Repository, target: str | None) -> list[dict[str, Any]]:
    """Every recorded cycle and human decision as dicts (see the module docstring)."""
    entries = [e.to_json() for e in load_history(repository)]
    if not target:
        return entries
    entries = sorted(
        [*entries, *reverts_in_git(repository, target)],
        key=lambda e: (str(e.get("started", "")), str(e.get("cycle_id"))),
    )
    tip = repository.rev_parse(f"refs/heads/{target}")
    tips = {
        ref.removeprefix("refs/heads/"): sha
        for ref, sha in repository.list_refs(BRANCH_REFS).items()
    }
    merged = [
        str(e["commit"])
        for e in entries
        if e.get("outcome") == "review"
        and e.get("commit")
        and tip
        and repository.is_ancestor(str(e["commit"]), tip)
    ]
    return settle(entries, branch_tip=tips, merged=merged)
