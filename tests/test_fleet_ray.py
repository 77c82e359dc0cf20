"""A fleet over one Ray cluster: `ratchet fleet run-once` with the fleet file's shared
executor. Members that set no executor evaluate on the cluster; a member whose
directives.yaml names its own (local) keeps it. The cluster is the one CI starts
(``RATCHET_RAY_ADDRESS``) or one the fixture of tests/test_ray_executor.py starts here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.repo_helpers import ROOT, git, write
from tests.test_fleet import scripted_repo
from tests.test_ray_executor import ray_address

__all__ = ["ray_address"]  # the module-scoped cluster fixture, used by name below


@pytest.mark.slow
@pytest.mark.sandbox
def test_fleet_run_once_evaluates_members_on_the_shared_cluster(
    tmp_path: Path, ray_address: str
) -> None:
    alpha, beta = (scripted_repo(tmp_path / name) for name in ("alpha", "beta"))
    own = scripted_repo(tmp_path / "own")
    directives = (own / "directives.yaml").read_text()
    write(own / "directives.yaml", directives + "executor:\n  kind: local\n")
    git(own, "commit", "-qam", "own executor")
    fleet = write(
        tmp_path / "ops" / "fleet.yaml",
        f"version: 1\nexecutor:\n  kind: ray\n  address: '{ray_address}'\nparallel: 3\n"
        "repos:\n  - path: ../alpha\n  - path: ../beta\n  - path: ../own\n",
    )
    workers = tmp_path / "workers"
    run = subprocess.run(
        [sys.executable, "-m", "engine.cli", "fleet", "run-once", "--fleet", str(fleet), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "RATCHET_WORKER_DIR": str(workers)},
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"fleet run-once, 3 members, 2 through Ray: {result['seconds']:.1f}s")
    members = {m["name"]: m for m in result["members"]}
    assert [m["outcome"] for m in members.values()] == ["merged"] * 3, members
    # alpha and beta were measured on the cluster: one private worker repository each,
    # holding its candidate; their own baseline caches stayed empty.
    worker_repos = [p for p in workers.iterdir() if p.is_dir()]
    assert len(worker_repos) == 2
    for name, repo in (("alpha", alpha), ("beta", beta)):
        report = members[name]["report"]
        assert git(repo, "rev-parse", "main") == report["commit"]
        assert sum(_has(w, report["candidate"]) for w in worker_repos) == 1, name
        assert not any((repo / ".ratchet" / "cache" / "baseline").glob("*.json"))
    # `own` names its executor: measured here, in its own sandbox; nothing was shipped.
    assert not any(_has(w, members["own"]["report"]["candidate"]) for w in worker_repos)
    assert any((own / ".ratchet" / "cache" / "baseline").glob("*.json"))
    for repo in (alpha, beta, own):
        assert git(repo, "for-each-ref", "refs/ratchet/ship/") == ""


def _has(repo: Path, commit: str) -> bool:
    done = subprocess.run(["git", "cat-file", "-e", commit], cwd=repo, capture_output=True)
    return done.returncode == 0
