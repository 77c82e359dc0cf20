"""Compare-and-swap merges: when the target moves while a candidate is evaluated, the
candidate is rebased onto the new tip and evaluated again before it may merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.compose import run_one_cycle
from engine.model import Edit, Proposal
from engine.providers.base import ProposalRequest
from engine.providers.scripted import ScriptedProvider
from tests.repo_helpers import FLAT_CLASSIFY, git, make_repo, write

pytestmark = pytest.mark.slow

PLAN = Proposal(
    summary="Flatten classify",
    edits=(Edit(file="calc/ops.py", op="replace", symbol="classify", code=FLAT_CLASSIFY),),
)


class PushWhileProposing(ScriptedProvider):
    """The fake model; while it 'thinks', a human pushes a commit to the target."""

    def __init__(self, repo: Path, plans: tuple[Proposal, ...]) -> None:
        super().__init__(plans)
        self.repo = repo

    def propose(self, request: ProposalRequest) -> Proposal:
        # A human commit on main from a second clone-like worktree of the user's own.
        human = self.repo.parent / "human"
        if not human.exists():
            git(self.repo, "worktree", "add", "-q", str(human), "main")
        write(human / "README.txt", "docs by a human\n")
        git(human, "add", "README.txt")
        git(human, "commit", "-q", "-m", "human: add README")
        return super().propose(request)


def test_target_moved_during_evaluation_is_rebased_and_reevaluated(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"target_branch": "main"})
    git(repo, "checkout", "-q", "-b", "elsewhere")
    start = git(repo, "rev-parse", "main")

    reports = run_one_cycle(repo, goal_id="simplify", provider=PushWhileProposing(repo, (PLAN,)))

    final = reports[-1]
    assert final.outcome == "merged", final.message
    human_commit = git(repo, "rev-parse", "main^")
    assert git(repo, "log", "-1", "--format=%s", human_commit) == "human: add README"
    assert git(repo, "rev-parse", f"{human_commit}^") == start  # linear history
    assert final.target_before == human_commit
    assert any("rebased and re-evaluated" in note for note in final.notes)
    assert final.baseline is not None and final.baseline.commit == human_commit
    assert "Ratchet-Decision: merged" in git(repo, "log", "-1", "--format=%B", "main")
