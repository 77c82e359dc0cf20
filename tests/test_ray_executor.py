"""The Ray executor: one real cycle whose evaluations run as Ray tasks on a local cluster.

CI (``.ci/run``) starts a cluster on loopback and exports ``RATCHET_RAY_ADDRESS``; without
it the fixture starts (and stops) its own. Where Ray is not installed the e2e test is
skipped, except under ``RATCHET_REQUIRE_RAY=1`` (CI), where that is a failure. The
missing-Ray error is checked in a real subprocess that cannot import ray.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.repo_helpers import FLAT_CLASSIFY, ROOT, git, make_repo, plan_file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("RATCHET_REQUIRE_RAY") == "1":
            pytest.fail("RATCHET_REQUIRE_RAY=1 but ray is not installed: pip install '.[ray]'")
        pytest.skip("ray is not installed (pip install '.[ray]')")
    given = os.environ.get("RATCHET_RAY_ADDRESS")
    if given:
        yield given
        return
    ray = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    temp = tmp_path_factory.mktemp("ray")
    port = _free_port()
    start = [ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}"]
    start += ["--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"]
    start += [f"--temp-dir={temp}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (temp / "start.log").open("wb")
    # Its own session: teardown ends exactly this cluster (never `ray stop`, which ends
    # every Ray process of the machine).
    head = subprocess.Popen(start, stdout=log, stderr=log, env=env, start_new_session=True)
    try:
        _wait_for_port(port, head)
        yield f"127.0.0.1:{port}"
    finally:
        _end_group(head)
        log.close()


def _wait_for_port(port: int, head: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited with {head.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the Ray head did not listen on {port} within {timeout:g}s")


def _end_group(head: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            return
        try:
            head.wait(wait)
        except subprocess.TimeoutExpired:
            continue


def _ratchet(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_cycle_evaluates_on_the_ray_cluster_and_merges_here(
    tmp_path: Path, ray_address: str
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        directives={"executor": {"kind": "ray", "address": ray_address}},
    )
    plan = plan_file(
        tmp_path / "plan.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    workers = tmp_path / "workers"
    run = _ratchet(
        "run-once",
        "--repo",
        str(repo),
        "--plan",
        str(plan),
        "--json",
        env={"RATCHET_WORKER_DIR": str(workers)},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["outcome"] == "merged", report["message"]
    candidate = report["candidate"]["commit"]
    # Evaluated on the worker: its private repository holds the candidate, shipped as a
    # thin bundle against the baseline, and its baseline cache is there, not here.
    (worker_repo,) = [p for p in workers.iterdir() if p.is_dir()]
    assert git(worker_repo, "cat-file", "-t", candidate) == "commit"
    assert any((worker_repo / ".ratchet").rglob("*.json"))
    assert not any((repo / ".ratchet" / "cache" / "baseline").glob("*.json"))
    # The decision and the merge stayed here: the daemon's repository moved, nothing else.
    assert git(repo, "rev-parse", "main") == report["commit"]
    assert git(repo, "for-each-ref", "refs/ratchet/ship/") == ""


def test_ray_missing_is_a_config_error_with_the_install_command(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"executor": {"kind": "ray"}})
    hide = tmp_path / "hide"
    hide.mkdir()
    # Python's own way to make a module unimportable: None in sys.modules.
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None\n")
    env = {"PYTHONPATH": f"{hide}{os.pathsep}{ROOT}"}
    run = subprocess.run(
        [sys.executable, "-m", "engine.cli", "check", "--repo", str(repo)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert (
        "directives.yaml:6:9: executor.kind: Ray is not installed here; install it with: "
        "python -m pip install 'ray>=2.60'"
    ) in run.stdout + run.stderr
