"""The embedded ruff provider leaves re-exports of public modules alone unless the goal
allows API changes (real ruff on real files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import Goal
from engine.providers.base import ProposalRequest
from engine.providers.ruff import RuffFixProvider
from tests.repo_helpers import write

SOURCE = "from os.path import join\nimport sys\n\n\ndef f():\n    return 1\n"


@pytest.mark.parametrize(
    ("path", "allow", "rewritten"),
    [
        ("pkg/api.py", (), False),  # public: `from pkg.api import join` works today
        ("pkg/__init__.py", (), False),
        ("pkg/api.py", ("api-change",), True),
        ("pkg/api.py", ("guard-api-change",), True),
        ("pkg/_impl.py", (), True),  # private module: nobody may import from it
        ("tests/test_api.py", (), True),  # test files are not modules of the package
    ],
)
def test_f401_respects_public_modules(
    tmp_path: Path, path: str, allow: tuple[str, ...], rewritten: bool
) -> None:
    write(tmp_path / path, SOURCE)
    goal = Goal(id="g", description="d", options={"select": ["F401"]}, allow=allow)
    proposal = RuffFixProvider().propose(ProposalRequest(goal=goal, root=tmp_path, files=(path,)))
    if not rewritten:
        assert proposal.edits == ()
        return
    [edit] = proposal.edits
    assert (edit.file, edit.op) == (path, "rewrite")
    assert "import sys" not in edit.code and "join" not in edit.code


def test_other_rules_still_apply_to_public_modules(tmp_path: Path) -> None:
    write(tmp_path / "pkg/api.py", "from typing import List\nimport sys\n\nX: List[int] = []\n")
    goal = Goal(id="g", description="d", options={"select": ["F401", "UP"]})
    request = ProposalRequest(goal=goal, root=tmp_path, files=("pkg/api.py",))
    [edit] = RuffFixProvider().propose(request).edits
    assert "X: list[int] = []" in edit.code and "import sys" in edit.code
