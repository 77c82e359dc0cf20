"""The fleet end to end: `ratchet fleet run-once` and `ratchet fleet daemon` as real
subprocesses over real repositories (scripted plans; only the model is ever faked)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.repo_helpers import (
    DEFAULT_GOALS,
    FLAT_CLASSIFY,
    ROOT,
    git,
    make_repo,
    plan_file,
    ratchet,
    write,
)
from tests.waiting import wait_until


def scripted_repo(root: Path, *, status: str = "active") -> Path:
    plan = plan_file(
        root.parent / f"plan-{root.name}.yaml",
        "Flatten classify",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}],
    )
    goal = {**DEFAULT_GOALS[0], "status": status, "options": {"plans": [str(plan)]}}
    return make_repo(root, goals=[goal])


SHARED = "executor:\n  kind: local\n"


def fleet_file(tmp_path: Path, names: list[str], extra: str = "") -> Path:
    repos = "".join(f"  - path: ../{name}\n" for name in names)
    return write(tmp_path / "ops" / "fleet.yaml", f"version: 1\n{extra}repos:\n{repos}")


@pytest.mark.slow
def test_run_once_completes_a_cycle_in_each_member_and_skips_a_bad_one(tmp_path: Path) -> None:
    repos = [scripted_repo(tmp_path / name) for name in ("alpha", "beta")]
    before = [git(r, "rev-parse", "main") for r in repos]
    fleet = fleet_file(tmp_path, ["alpha", "beta", "gone"], extra="parallel: 2\n")
    started = time.monotonic()
    run = ratchet("fleet", "run-once", "--fleet", str(fleet), "--json")
    seconds = time.monotonic() - started
    print(f"fleet run-once, 2 members at once: {seconds:.1f}s")
    assert run.code == 4, run.stderr  # a member was skipped: cron notices
    members = {m["name"]: m for m in run.json["members"]}
    assert [m["outcome"] for m in members.values()] == ["merged", "merged", "skipped"]
    assert "fleet.yaml:6:11: repos[2].path: '../gone'" in members["gone"]["message"]
    for repo, old, name in zip(repos, before, ("alpha", "beta"), strict=True):
        assert git(repo, "rev-parse", "main") == members[name]["report"]["commit"] != old
        assert git(repo, "status", "--porcelain") == ""  # nothing of the fleet's in it
    assert not any(p.name == ".ratchet-fleet" for r in repos for p in r.rglob(".ratchet-fleet"))

    # The same file without the bad member: every cycle completed, exit 0; nothing left
    # to do now that both plans merged.
    good = fleet_file(tmp_path, ["alpha", "beta"])
    again = ratchet("fleet", "run-once", "--fleet", str(good), "--json")
    assert again.code == 0, again.stderr
    assert {m["outcome"] for m in again.json["members"]} <= {"nothing-to-do", "rejected"}


# --------------------------------------------------------------------------- the daemon


class FleetProcess:
    """`ratchet fleet daemon` in its own session, observed through fleet.json."""

    def __init__(self, fleet: Path) -> None:
        self.fleet = fleet
        self.status_file = fleet.parent / ".ratchet-fleet" / fleet.stem / "fleet.json"
        self.log = fleet.parent / "fleet-daemon.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("NOTIFY_SOCKET", None)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "engine.cli", "fleet", "daemon", "--fleet", str(fleet)],
                cwd=fleet.parent,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def status(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if data.get("pid") == self.proc.pid else {}

    def member(self, name: str) -> dict[str, Any]:
        return next((m for m in self.status().get("members", []) if m["name"] == name), {})

    def wait_member(self, name: str, state: str, what: str, timeout: float = 60) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"the fleet daemon exited: {self.log.read_text()[-3000:]}")
            member = self.member(name)
            return member if member.get("state") == state else None

        found: dict[str, Any] = wait_until(seen, what, timeout=timeout, poll=0.05)
        return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _ours(tmp_path: Path) -> list[int]:
    """Live processes whose command line names a path under ``tmp_path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(tmp_path).encode() in a for a in argv) and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _member_daemon(repo: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((repo / ".ratchet" / "daemon.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


@pytest.fixture
def fleets() -> Iterator[list[FleetProcess]]:
    started: list[FleetProcess] = []
    yield started
    for fleet in started:
        if fleet.proc.poll() is None:
            os.killpg(fleet.proc.pid, signal.SIGKILL)
            fleet.proc.wait()


@pytest.mark.slow
def test_the_fleet_daemon_keeps_each_members_daemon_and_obeys_pause_and_stop(
    tmp_path: Path, fleets: list[FleetProcess]
) -> None:
    alpha, beta, gamma = (
        scripted_repo(tmp_path / n, status="paused") for n in ("alpha", "beta", "gamma")
    )
    # gamma already has a daemon a human started: the fleet must not start a second writer
    human = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "start", "--repo", str(gamma)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _member_daemon(gamma).get("pid") == human.pid, "the human's daemon")
        fleet = fleet_file(tmp_path, ["alpha", "beta", "gamma"], extra=SHARED)
        daemon = FleetProcess(fleet)
        fleets.append(daemon)
        a = daemon.wait_member("alpha", "running", "alpha's daemon")
        b = daemon.wait_member("beta", "running", "beta's daemon")
        for repo, member in ((alpha, a), (beta, b)):
            wait_until(
                lambda r=repo, m=member: (
                    _member_daemon(r).get("pid") == m["pid"]
                    and _member_daemon(r).get("state") == "idle"
                ),
                f"{repo.name}'s daemon ready",
            )
        # The fleet's executor reaches each member's daemon (and so its cycles) unasked.
        environ = Path(f"/proc/{a['pid']}/environ").read_bytes().split(b"\0")
        assert b'RATCHET_FLEET_EXECUTOR={"kind": "local"}' in environ
        busy = daemon.wait_member("gamma", "busy", "gamma reported busy")
        assert "another ratchet daemon holds this repository's lock" in busy["message"]
        assert _member_daemon(gamma)["pid"] == human.pid
        rss = Path(f"/proc/{daemon.proc.pid}/status").read_text().split("VmRSS:")[1].split()[0]
        print(f"fleet daemon RSS with 2 member daemons: {int(rss) / 1024:.1f} MB")
    finally:
        human.send_signal(signal.SIGTERM)
        assert human.wait(60) == 0

    # One member paused: its daemon stops, the other's goes on untouched.
    assert ratchet("fleet", "pause", "alpha", "--fleet", str(fleet)).code == 0
    daemon.wait_member("alpha", "paused", "alpha paused")
    wait_until(lambda: not _alive(a["pid"]), "alpha's daemon to exit")
    assert daemon.member("beta")["pid"] == b["pid"] and _alive(b["pid"])
    shown = json.loads(ratchet("fleet", "status", "--fleet", str(fleet), "--json").stdout)
    rows = {m["name"]: m for m in shown["members"]}
    assert rows["alpha"]["paused"] and not rows["alpha"]["daemon_running"]
    assert rows["beta"]["daemon_running"] and shown["running"]
    assert ratchet("fleet", "resume", "alpha", "--fleet", str(fleet)).code == 0
    a2 = daemon.wait_member("alpha", "running", "alpha resumed")
    assert a2["pid"] != a["pid"]

    # A member's daemon that dies is restarted (after a backoff), and counted.
    os.kill(a2["pid"], signal.SIGKILL)
    a3 = wait_until(
        lambda: (
            (m := daemon.member("alpha")).get("state") == "running" and m["pid"] != a2["pid"] and m
        ),
        "alpha restarted",
        timeout=60,
    )
    assert a3["restarts"] == 1 and a3["last_exit"] == -signal.SIGKILL

    # The whole fleet paused: every member's daemon stops; resumed: they come back.
    assert ratchet("fleet", "pause", "--fleet", str(fleet)).code == 0
    wait_until(lambda: daemon.status().get("state") == "paused", "the fleet paused")
    for name in ("alpha", "beta"):
        daemon.wait_member(name, "paused", f"{name} paused with the fleet")
    assert not _alive(a3["pid"]) and not _alive(b["pid"])
    assert ratchet("fleet", "resume", "--fleet", str(fleet)).code == 0
    last = [daemon.wait_member(n, "running", f"{n} back")["pid"] for n in ("alpha", "beta")]

    # One fleet daemon per fleet file.
    second = ratchet("fleet", "daemon", "--fleet", str(fleet), timeout=60)
    assert second.code == 3 and "a fleet daemon already runs" in second.stderr

    # Edits of the fleet file apply at once: an invalid one is reported and the last good
    # one stays in force; a member removed has its daemon stopped.
    write(fleet, fleet.read_text() + "  - pth: ../delta\n")
    wait_until(lambda: daemon.status().get("fleet_error"), "the fleet file error")
    assert "repos[3].pth: unknown key 'pth'" in daemon.status()["fleet_error"]
    assert all(_alive(pid) for pid in last)
    fleet_file(tmp_path, ["alpha", "gamma"], extra=SHARED)
    wait_until(lambda: not daemon.member("beta"), "beta removed from the fleet")
    wait_until(lambda: not _alive(last[1]), "beta's daemon to exit")
    assert daemon.status()["fleet_error"] is None and daemon.member("alpha")["pid"] == last[0]

    # Stop: every member's daemon is stopped, then the fleet exits 0; nothing is left.
    started = time.monotonic()
    stopped = ratchet("fleet", "stop", "--fleet", str(fleet))
    assert stopped.code == 0 and stopped.stdout.startswith("stopped"), stopped.stderr
    assert daemon.proc.wait(30) == 0
    print(f"fleet stop with 2 member daemons: {time.monotonic() - started:.1f}s")
    assert not any(_alive(pid) for pid in last)
    assert _ours(tmp_path) == []
    assert json.loads(daemon.status_file.read_text())["state"] == "stopped"
    assert ratchet("fleet", "stop", "--fleet", str(fleet)).stdout.strip() == "not running"
    for repo in (alpha, beta, gamma):
        assert git(repo, "status", "--porcelain") == ""
