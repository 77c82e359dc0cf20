"""The API and import-time guards end to end: real repositories, the real CLI, the sandbox.

- removing a re-export that no test imports passes every test and rule, and still goes to
  review (never merged), with the broken names as evidence in the record and ``ratchet log``;
  the same plan merges when the goal allows ``api-change``;
- an import-time environment dump is rejected by both new guards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.repo_helpers import DEFAULT_GOALS, git, make_repo, ratchet, snapshot_of_user_state, write

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

API = '"""The public API: callers import from here."""\nfrom calc.ops import add, classify\n'
# The project's tests import the API module, so the changed line runs (diff coverage holds)
# and still nothing imports ``classify`` from it: only the API guard can see the break.
API_FILES = {
    "calc/api.py": API,
    "tests/test_api.py": (
        "from calc.api import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    ),
}
PRUNE = """\
summary: Drop an unused import
edits:
  - file: calc/api.py
    op: search_replace
    search: "from calc.ops import add, classify"
    replace: "from calc.ops import add"
"""
ENV_DUMP = """\
summary: Print diagnostics at start-up
edits:
  - file: calc/ops.py
    op: search_replace
    search: '\"\"\"Small arithmetic helpers.\"\"\"'
    replace: |-
      \"\"\"Small arithmetic helpers.\"\"\"
      import json
      import os

      print(json.dumps(dict(os.environ)))
"""


def _goals(allow: list[str]) -> list[dict[str, Any]]:
    return [{**DEFAULT_GOALS[0], "allow": allow}] if allow else DEFAULT_GOALS


def _cycle(
    repo: Path, plan: str, *, merges: bool = False
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """One ``run-once`` with ``plan``; unless it ``merges`` (a fast-forward of the clean
    checkout), the user's working tree, index and HEAD stay byte-identical."""
    plan_file = write(repo.parent / "plan.yaml", plan)
    before = snapshot_of_user_state(repo)
    run = ratchet("run-once", "--repo", str(repo), "--plan", str(plan_file), "--json")
    assert run.code == 0, run.stderr
    if not merges:
        assert snapshot_of_user_state(repo) == before
    log = ratchet("log", "--verbose", "--repo", str(repo))
    entry = json.loads(ratchet("log", "--repo", str(repo), "--json").stdout)[-1]
    return run.json, log.stdout, entry


def test_a_re_export_removal_that_passes_the_tests_goes_to_review(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", files=API_FILES)
    main = git(repo, "rev-parse", "main")

    result, log, entry = _cycle(repo, PRUNE)

    failed = {r["id"] for r in result["rules"] if not r["passed"]}
    assert result["outcome"] == "review", (failed, result["message"])
    assert failed == {"guard-api-change"}
    assert git(repo, "rev-parse", "main") == main
    [finding] = [f for f in result["change"]["findings"] if f["guard"] == "guard-api-change"]
    assert finding["names"] == ["calc.api.classify"]
    assert finding["file"] == "calc/api.py" and finding["line"] == 2
    assert "failed guard-api-change" in log and "`from calc.api import classify` would fail" in log
    assert entry["outcome"] == "review"


def test_the_same_removal_merges_when_the_goal_allows_api_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", files=API_FILES, goals=_goals(["api-change"]))

    result, log, _ = _cycle(repo, PRUNE, merges=True)

    assert result["outcome"] == "merged", result["message"]
    assert git(repo, "show", "main:calc/api.py").endswith("from calc.ops import add")
    api = [r for r in result["rules"] if r["id"] == "guard-api-change"]
    assert api and "allowed" in json.dumps(api), api


def test_an_import_time_environment_dump_is_rejected(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    main = git(repo, "rev-parse", "main")

    result, log, _ = _cycle(repo, ENV_DUMP)

    failed = {r["id"] for r in result["rules"] if not r["passed"]}
    assert result["outcome"] == "rejected"
    assert {"guard-import-side-effect", "guard-env-exfiltration"} <= failed
    assert git(repo, "rev-parse", "main") == main
    assert "runs at import time: print(json.dumps(dict(os.environ)))" in log
    assert "calc/ops.py:5" in log
