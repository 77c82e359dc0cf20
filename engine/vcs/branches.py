"""What the ``ratchet/*`` branches are, for hygiene and for reconciling after a crash
(the daemon's startup reconcile and every ``run-once``, see :mod:`engine.vcs.leftovers`).

A cycle's branch ``ratchet/<goal>/<n>`` ends in one of three ways: merged or rejected (the
branch is deleted), or kept for a human (``review``) or for a later merge (``pending``) — the
tip then carries a ``Ratchet-Decision`` trailer saying so. Anything else is *half-made*: a
cycle died before finishing it. A branch holding any commit that the bot did not both author
and commit is a *human* branch: ratchet never touches it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from engine.model import Identity
from engine.vcs.core import RepositoryCore, checked_arg
from engine.vcs.messages import parse_trailers
from engine.vcs.refs import BRANCH_REFS

BranchKind = Literal["review", "pending", "half-made", "human"]
_NAME = re.compile(r"^ratchet/(?P<goal>[^/]+)/(?P<n>\d+)$")
KEPT = ("review", "pending")


@dataclass(frozen=True)
class BranchInfo:
    name: str  # "ratchet/lint-clean/3"
    tip: str
    kind: BranchKind
    commits: tuple[str, ...]  # the branch's own commits, newest first
    decision: str | None = None  # the tip's Ratchet-Decision trailer

    @property
    def goal(self) -> str:
        match = _NAME.match(self.name)
        return match.group("goal") if match else ""

    @property
    def number(self) -> str:
        match = _NAME.match(self.name)
        return match.group("n") if match else ""


def branch_only_commits(repo: RepositoryCore, tip: str) -> list[str]:
    """Commits reachable from ``tip`` but from no local branch outside ``ratchet/``, newest
    first: the work a ratchet branch holds (empty once it is merged)."""
    out = repo._run("rev-list", checked_arg(tip), "--not", "--exclude=ratchet/*", "--branches")
    return out.split()


def scan_branches(repo: RepositoryCore, identity: Identity) -> tuple[BranchInfo, ...]:
    """Every ``ratchet/<goal>/<n>`` branch, classified. Other ``ratchet/...`` names are not
    the cycle's and are left out."""
    out = []
    for ref, tip in sorted(repo.list_refs(BRANCH_REFS).items()):
        name = ref.removeprefix("refs/heads/")
        if not _NAME.match(name):
            continue
        commits = tuple(branch_only_commits(repo, tip))
        trailers = parse_trailers(repo.commit_message(tip)) if commits else {}
        decision = trailers.get("Ratchet-Decision")
        kind: BranchKind
        if any(not repo.is_bot_commit(c, identity) for c in commits):
            kind = "human"
        elif decision in KEPT:
            kind = "review" if decision == "review" else "pending"
        else:
            kind = "half-made"
        out.append(BranchInfo(name, tip, kind, commits, decision))
    return tuple(out)


def open_review_branches(branches: tuple[BranchInfo, ...]) -> tuple[str, ...]:
    """Branches waiting for a human: kept for review, or taken over by one."""
    return tuple(b.name for b in branches if b.kind in ("review", "human"))
