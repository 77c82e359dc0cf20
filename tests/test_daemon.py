"""The daemon end to end: `ratchet start` as a real subprocess on real repositories, with
real `ratchet run-once` cycles (scripted plans; only the model is ever faked)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.daemon.configuration import config_digest
from tests.git_testing import BOT_ENV, HUMAN_ENV
from tests.repo_helpers import ROOT, git, make_repo, plan_file, ratchet, write
from tests.waiting import wait_until

SLOW_ADD = """\
def add(a, b):
    import time

    time.sleep(120)
    return a + b
"""


def goal(status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "id": "simplify",
        "description": "Flatten nested branches.",
        "priority": 5,
        "scope": ["calc/**/*.py"],
        "provider": "scripted",
        "max_attempts": 1,
        "status": status,
        **extra,
    }


def save_like_an_editor(path: Path, text: str | bytes) -> None:
    """Write a temp file and rename it over the original, as vim and most editors do."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_bytes(text.encode() if isinstance(text, str) else text)
    os.replace(tmp, path)


class RunningDaemon:
    """`ratchet start` in a subprocess, observed through .ratchet/daemon.json."""

    def __init__(self, repo: Path, env: dict[str, str] | None = None) -> None:
        self.repo = repo
        self.log_path = repo.parent / f"daemon-{time.monotonic_ns()}.log"
        full = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        full.update({"PYTHONPATH": str(ROOT), **(env or {})})
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "start", "--repo", str(repo), "--log-json"],
            cwd=repo,
            env=full,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    def status(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.repo / ".ratchet" / "daemon.json").read_text())
        except (OSError, ValueError):
            return {}
        return data

    def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        what: str,
        timeout: float = 60.0,
        poll: float = 0.01,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status.get("pid") == self.proc.pid and predicate(status):
                return status
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}"
                )
            time.sleep(poll)
        raise AssertionError(f"timed out waiting for {what}; status {self.status()}\n{self.log()}")

    def ready(self) -> dict[str, Any]:
        return self.wait_for(
            lambda s: s.get("state") in ("idle", "paused", "running"), "the daemon to be ready"
        )

    def outcomes(self) -> list[dict[str, Any]]:
        return list(self.status().get("last_outcomes", []))

    def terminate(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.log_file.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


@pytest.fixture
def daemons() -> Iterator[Callable[..., RunningDaemon]]:
    started: list[RunningDaemon] = []

    def start(repo: Path, env: dict[str, str] | None = None) -> RunningDaemon:
        daemon = RunningDaemon(repo, env)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.wait()


def assert_repo_clean(repo: Path) -> None:
    """No stray worktree, branch, lock or process of ratchet's; git fsck is clean."""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "branch", "--list", "ratchet/*") == ""
    assert not list((repo / ".ratchet" / "worktrees").glob("*"))
    assert not list((repo / ".git").rglob("*.lock"))
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling"], cwd=repo, capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert json.loads(ratchet("status", "--repo", str(repo), "--json").stdout)["running"] is False
    from filelock import FileLock

    with FileLock(str(repo / ".ratchet" / "cycle.lock"), timeout=0):
        pass  # nobody holds the cycle lock


# --------------------------------------------------------------------------- steering by files


@pytest.mark.slow
def test_goal_edits_take_effect_within_a_second_and_invalid_edits_keep_the_last_good(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = make_repo(tmp_path / "repo", goals=[goal("paused")])
    daemon = daemons(repo)
    first = daemon.ready()
    assert first["goals"] == ["simplify (paused)"] and first["config_error"] is None

    # A valid edit, saved the way editors save: picked up without a restart.
    latencies = []
    for description in ("Flatten branches.", "Flatten nested branches, please."):
        text = yaml.safe_dump({"version": 1, "goals": [goal("paused", description=description)]})
        started = time.monotonic()
        save_like_an_editor(repo / "goals.yaml", text)
        digest = config_digest(repo)
        daemon.wait_for(lambda s, d=digest: s.get("config_fingerprint") == d, "the edit")
        latencies.append(time.monotonic() - started)
    print(
        f"goals.yaml edit -> configuration in force: "
        f"{', '.join(f'{x * 1000:.0f} ms' for x in latencies)}"
    )
    assert max(latencies) < 1.0

    # An invalid edit: reported with file, line and field; the last good one stays.
    good = daemon.status()["config_fingerprint"]
    save_like_an_editor(
        repo / "goals.yaml",
        "version: 1\ngoals:\n  - id: simplify\n    description: x\n    priority: high\n",
    )
    bad = daemon.wait_for(lambda s: bool(s.get("config_error")), "the config error")
    assert "goals.yaml:5:" in bad["config_error"] and "priority" in bad["config_error"]
    assert bad["config_fingerprint"] == good and bad["goals"] == ["simplify (paused)"]
    shown = ratchet("status", "--repo", str(repo))
    assert "INVALID" in shown.stdout and "goals.yaml:5:" in shown.stdout
    logged = [e for e in daemon.events() if e.get("field") == "goals[0].priority"]
    assert logged and logged[0]["file"] == "goals.yaml" and logged[0]["line"] == 5

    # Fixing it clears the error; rules/ edits are watched too.
    save_like_an_editor(repo / "goals.yaml", yaml.safe_dump({"version": 1, "goals": [goal()]}))
    daemon.wait_for(
        lambda s: not s.get("config_error") and s["goals"] == ["simplify (active)"],
        "the fixed config",
    )
    write(repo / "rules" / "extra.yaml", "version: 1\nrules: [}\n")
    broken = daemon.wait_for(lambda s: bool(s.get("config_error")), "the rules error")
    assert "rules/extra.yaml:2" in broken["config_error"]
    (repo / "rules" / "extra.yaml").unlink()
    daemon.wait_for(lambda s: not s.get("config_error"), "rules fixed")
    assert daemon.terminate() == 0


@pytest.mark.slow
def test_a_second_daemon_refuses_with_exit_code_3(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = make_repo(tmp_path / "repo", goals=[goal("paused")])
    daemon = daemons(repo)
    daemon.ready()
    second = ratchet("start", "--repo", str(repo), timeout=60)
    assert second.code == 3
    assert "already running" in second.stderr and "ratchet stop" in second.stderr
    status = json.loads(ratchet("status", "--repo", str(repo), "--json").stdout)
    assert status["running"] is True and status["pid"] == daemon.proc.pid
    stopped = ratchet("stop", "--repo", str(repo))
    assert stopped.code == 0 and "stopped" in stopped.stdout
    assert daemon.wait() == 0
    assert json.loads(ratchet("status", "--repo", str(repo), "--json").stdout)["running"] is False
    assert ratchet("stop", "--repo", str(repo)).stdout.strip() == "not running"


@pytest.mark.slow
def test_pause_resume_pin_and_systemd_notifications(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = make_repo(tmp_path / "repo", goals=[goal("paused")])
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        systemd.settimeout(30)
        daemon = daemons(repo, env={"NOTIFY_SOCKET": address})
        ready = systemd.recv(4096).decode()
        assert "READY=1" in ready and f"MAINPID={daemon.proc.pid}" in ready

        started = time.monotonic()
        assert ratchet("pause", "--repo", str(repo)).code == 0
        daemon.wait_for(lambda s: s["paused"] and s["state"] == "paused", "pause")
        print(f"`ratchet pause` to paused daemon: {(time.monotonic() - started) * 1000:.0f} ms")
        assert ratchet("resume", "--repo", str(repo)).code == 0
        daemon.wait_for(lambda s: not s["paused"] and s["state"] == "idle", "resume")

        head = git(repo, "rev-parse", "HEAD")
        assert ratchet("pin", "HEAD", "--repo", str(repo)).stdout.startswith(f"pinned to {head}")
        daemon.wait_for(lambda s: s.get("pinned") == head, "the pin")
        assert ratchet("pin", "no-such-rev", "--repo", str(repo)).code == 2
        assert ratchet("unpin", "--repo", str(repo)).code == 0
        daemon.wait_for(lambda s: s.get("pinned") is None, "the unpin")

        daemon.proc.send_signal(signal.SIGHUP)  # reload: RELOADING=1 then READY=1 again
        messages = [systemd.recv(4096).decode()]
        while "READY=1" not in messages[-1]:
            messages.append(systemd.recv(4096).decode())
        assert any("RELOADING=1" in m for m in messages)
        assert daemon.terminate() == 0
        tail = []
        with pytest.raises(TimeoutError):
            systemd.settimeout(0.5)
            while True:
                tail.append(systemd.recv(4096).decode())
        assert "STOPPING=1" in tail


def test_install_service_writes_the_unit_and_prints_how_to_enable_it(tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(
        repo,
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@example.invalid",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "install-service", "--repo", str(repo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "config" / "systemd" / "user" / "ratchet-proj.service"
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -P -m engine.cli start --repo {repo} --log-json" in text
    assert "Type=notify" in text and "Restart=on-failure" in text
    assert "systemctl --user enable --now ratchet-proj.service" in done.stdout


# --------------------------------------------------------------------------- branch hygiene


def _bot_branch(repo: Path, name: str, commits: list[tuple[str, dict[str, str]]]) -> str:
    git(repo, "checkout", "-q", "-b", name, "main")
    for i, (message, env) in enumerate(commits):
        write(repo / "calc" / f"extra_{i}.py", f"X = {i}\n")
        git(repo, "add", "-A", "calc")
        subprocess.run(
            ["git", "commit", "-q", "-m", message], cwd=repo, check=True, env={**os.environ, **env}
        )
    tip = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    return tip


EVALUATING = "Flatten classify\n\nRatchet-Goal: simplify\nRatchet-Decision: evaluating\n"


@pytest.mark.slow
def test_a_branch_a_human_committed_to_is_left_alone_and_counts_as_open_review(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        goals=[goal("paused")],
        directives={"max_review_branches": 1, "schedule": {"on_change": "run"}},
    )
    human_tip = _bot_branch(
        repo, "ratchet/simplify/7", [(EVALUATING, BOT_ENV), ("my fix", HUMAN_ENV)]
    )
    half_tip = _bot_branch(repo, "ratchet/simplify/8", [(EVALUATING, BOT_ENV)])
    daemon = daemons(repo)
    ready = daemon.ready()
    assert ready["human_branches"] == ["ratchet/simplify/7"]
    assert git(repo, "rev-parse", "ratchet/simplify/7") == human_tip  # never touched
    assert git(repo, "rev-parse", "refs/ratchet/rejected/simplify/8") == half_tip  # archived
    assert git(repo, "branch", "--list", "ratchet/simplify/8") == ""

    # A goal edit asks for a cycle (on_change: run), but one review branch is open already.
    save_like_an_editor(repo / "goals.yaml", yaml.safe_dump({"version": 1, "goals": [goal()]}))
    waiting = daemon.wait_for(lambda s: bool(s.get("waiting")), "the review limit")
    assert "1 review branches open" in waiting["waiting"]
    assert waiting["last_outcomes"] == []  # no cycle ran
    assert git(repo, "rev-parse", "ratchet/simplify/7") == human_tip
    assert daemon.terminate() == 0
    assert git(repo, "rev-parse", "ratchet/simplify/7") == human_tip


# --------------------------------------------------------------------------- scheduling


@pytest.mark.slow
def test_interval_schedule_fires_and_a_missed_nightly_run_is_caught_up_once(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        goals=[goal("paused")],
        directives={
            "schedule": {"cron": ["0 2 * * *"], "timezone": "UTC", "interval_minutes": 0.05}
        },
    )
    # The daemon was down during last night's 02:00 run.
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    write(
        repo / ".ratchet" / "daemon-schedule.json",
        json.dumps({"cron:0 2 * * *@UTC": two_days_ago.isoformat()}),
    )
    daemon = daemons(repo)
    daemon.ready()
    # the first "daemon ready" line already says when the schedule fires next
    ready = [e for e in daemon.events() if e.get("msg") == "daemon ready"]
    assert ready and ready[0].get("next_run"), daemon.log()
    first = daemon.wait_for(lambda s: len(s["last_outcomes"]) >= 1, "the catch-up run")
    catch_up = first["last_outcomes"][-1]
    assert catch_up["reason"].startswith("catch-up cron:0 2 * * *@UTC")
    assert catch_up["outcome"] == "nothing-to-do"  # the real run-once: the goal is paused
    started = time.monotonic()
    later = daemon.wait_for(
        lambda s: any(o["reason"] == "schedule interval:0.05" for o in s["last_outcomes"]),
        "an interval run",
    )
    print(f"interval run after {time.monotonic() - started:.1f}s; next run {later['next_run']}")
    reasons = [o["reason"] for o in later["last_outcomes"]]
    assert sum(r.startswith("catch-up") for r in reasons) == 1  # once, coalesced
    assert later["next_run"] is not None
    assert daemon.terminate() == 0
    recorded = json.loads((repo / ".ratchet" / "daemon-schedule.json").read_text())
    assert datetime.fromisoformat(recorded["interval:0.05"]) > two_days_ago


# --------------------------------------------------------------------------- stopping, crashing


def _slow_cycle_repo(tmp_path: Path) -> Path:
    """A repo whose next cycle's candidate hangs in its tests (so it can be caught mid-way)."""
    plan = plan_file(
        tmp_path / "plans" / "slow.yaml",
        "Make add slow",
        [{"file": "calc/ops.py", "op": "replace", "symbol": "add", "code": SLOW_ADD}],
    )
    return make_repo(
        tmp_path / "repo",
        goals=[goal("paused", options={"plans": [str(plan)]})],
        directives={"schedule": {"on_change": "run"}, "timeouts": {"tests": 600}},
    )


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _candidate_committed(repo: Path) -> bool:
    """The candidate branch holds the cycle's edit (so an interruption has work to keep)."""
    branches = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/ratchet/")
    return any(git(repo, "rev-list", "--count", f"main..{b}") != "0" for b in branches.split())


def _start_a_cycle(repo: Path, daemon: RunningDaemon) -> dict[str, Any]:
    """Trigger a cycle by activating the goal (on_change: run); wait until its candidate
    branch holds the edit (the candidate's tests then hang for two minutes)."""
    daemon.ready()
    text = (repo / "goals.yaml").read_text().replace("status: paused", "status: active")
    save_like_an_editor(repo / "goals.yaml", text)
    return daemon.wait_for(
        lambda s: (s.get("cycle") or {}).get("goal") == "simplify" and _candidate_committed(repo),
        "a cycle mid-way",
        poll=0.2,
    )


@pytest.mark.slow
def test_sigterm_mid_cycle_stops_it_cleanly_and_exits_0(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = _slow_cycle_repo(tmp_path)
    main_before = git(repo, "rev-parse", "main")
    daemon = daemons(repo)
    running = _start_a_cycle(repo, daemon)
    child = running["cycle"]["pid"]
    started = time.monotonic()
    assert daemon.terminate() == 0
    print(f"SIGTERM mid-cycle -> daemon exited in {time.monotonic() - started:.2f}s")
    assert not Path(f"/proc/{child}").exists()
    assert git(repo, "rev-parse", "main") == main_before
    assert_repo_clean(repo)
    # The interrupted candidate was archived, not lost.
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/ratchet/rejected/")
    final = json.loads((repo / ".ratchet" / "daemon.json").read_text())
    assert final["state"] == "stopped" and final["last_outcomes"][0]["outcome"] == "interrupted"


@pytest.mark.slow
@pytest.mark.parametrize("victims", ["daemon", "daemon-and-cycle"])
def test_kill_9_mid_cycle_then_restart_reconciles(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
    victims: str,
) -> None:
    repo = _slow_cycle_repo(tmp_path)
    main_before = git(repo, "rev-parse", "main")
    daemon = daemons(repo)
    running = _start_a_cycle(repo, daemon)
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.wait()
    if victims == "daemon-and-cycle":  # power loss: nothing gets to clean up
        os.killpg(running["cycle"]["pid"], signal.SIGKILL)
        wait_until(lambda: _gone(running["cycle"]["pid"]), "the cycle to die")
        assert git(repo, "branch", "--list", "ratchet/*")  # a half-made branch is left

    # Restart with the goal paused so nothing new starts; the restart reconciles.
    save_like_an_editor(
        repo / "goals.yaml", yaml.safe_dump({"version": 1, "goals": [goal("paused")]})
    )
    started = time.monotonic()
    second = daemons(repo)
    status = second.ready()
    print(f"restart + reconcile after kill -9 ({victims}): {time.monotonic() - started:.2f}s")
    assert status["state"] == "idle"
    assert git(repo, "rev-parse", "main") == main_before
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/ratchet/rejected/simplify/")
    assert second.terminate() == 0
    assert_repo_clean(repo)


@pytest.mark.slow
def test_pausing_a_goal_mid_cycle_stops_work_on_it(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = _slow_cycle_repo(tmp_path)
    daemon = daemons(repo)
    _start_a_cycle(repo, daemon)
    text = (repo / "goals.yaml").read_text().replace("status: active", "status: paused")
    started = time.monotonic()
    save_like_an_editor(repo / "goals.yaml", text)
    done = daemon.wait_for(
        lambda s: any(o["outcome"] == "interrupted" for o in s["last_outcomes"]),
        "the interrupted cycle",
        poll=0.05,
    )
    print(f"goal paused -> cycle stopped and cleaned in {time.monotonic() - started:.2f}s")
    stopped = done["last_outcomes"][-1]
    assert stopped["outcome"] == "interrupted"
    assert "goal simplify is now paused" in stopped["message"]
    # The edit itself asks for a cycle (on_change: run): it finds nothing to do.
    after = daemon.wait_for(
        lambda s: s["state"] == "idle" and len(s["last_outcomes"]) == 2,
        "the cycle the edit asked for",
    )
    assert after["last_outcomes"][0]["outcome"] == "nothing-to-do"
    assert git(repo, "branch", "--list", "ratchet/*") == ""
    assert daemon.terminate() == 0
    assert_repo_clean(repo)


# --------------------------------------------------------------------------- hostile configuration


def _laughs() -> bytes:
    lines = ["version: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return ("\n".join([*lines, "goals: *a8"]) + "\n").encode()


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _outside(path: Path) -> None:
    path.unlink()
    path.symlink_to("/etc/passwd")


# (name, how to break goals.yaml, what the error must say)
HOSTILE: list[tuple[str, Callable[[Path], None], str]] = [
    ("nul", lambda p: save_like_an_editor(p, b"version: 1\ngoals: []\x00\n"), "goals.yaml:2:"),
    ("deep", lambda p: save_like_an_editor(p, b"[" * 5000), "goals.yaml:1:51:"),
    ("laughs", lambda p: save_like_an_editor(p, _laughs()), "once aliases are expanded"),
    ("latin-1", lambda p: save_like_an_editor(p, b"version: 1\n# caf\xe9\n"), "not UTF-8"),
    ("fifo", _fifo, "FIFO"),
    ("symlink", _outside, "outside the repository"),
    ("huge", lambda p: save_like_an_editor(p, b"# " + b"x" * 3_000_000 + b"\n"), "1 MiB"),
]


@pytest.mark.slow
def test_a_running_daemon_survives_hostile_goal_files_and_keeps_the_last_good(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = make_repo(tmp_path / "repo", goals=[goal("paused")])
    daemon = daemons(repo)
    good = daemon.ready()["config_fingerprint"]
    goals = repo / "goals.yaml"
    for n, (name, damage, says) in enumerate(HOSTILE):
        started = time.monotonic()
        damage(goals)
        bad = daemon.wait_for(lambda s: bool(s.get("config_error")), f"the {name} error")
        print(f"{name}: reported in {(time.monotonic() - started) * 1000:.0f} ms")
        assert says in bad["config_error"], (name, bad["config_error"])
        assert bad["config_fingerprint"] == good and bad["goals"] == ["simplify (paused)"]
        shown = json.loads(ratchet("status", "--repo", str(repo), "--json").stdout)
        assert shown["running"] is True and shown["config_error"] == bad["config_error"]
        assert "configuration: ok" not in ratchet("status", "--repo", str(repo)).stdout
        if goals.is_symlink() or not goals.is_file():
            goals.unlink()
        valid = {"version": 1, "goals": [goal("paused", description=f"valid again {n}")]}
        save_like_an_editor(goals, yaml.safe_dump(valid))
        digest = config_digest(repo)
        daemon.wait_for(
            lambda s, d=digest: not s.get("config_error") and s["config_fingerprint"] == d,
            f"the valid save after {name}",
        )
        good = digest
    assert daemon.proc.poll() is None
    assert daemon.terminate() == 0


@pytest.mark.slow
def test_a_daemon_started_with_an_invalid_configuration_waits_for_a_valid_one(
    tmp_path: Path,
    daemons: Callable[..., RunningDaemon],
) -> None:
    repo = make_repo(tmp_path / "repo", goals=[goal("paused")])
    save_like_an_editor(repo / "goals.yaml", b"version: 1\ngoals: [\x00\n")
    daemon = daemons(repo)
    waiting = daemon.ready()
    assert "goals.yaml:2:" in waiting["config_error"] and waiting["goals"] == []
    shown = ratchet("status", "--repo", str(repo)).stdout
    assert "INVALID (no valid configuration yet: waiting for one)" in shown
    assert "configuration: ok" not in shown
    logged = [e for e in daemon.events() if e.get("file") == "goals.yaml"]
    assert logged and logged[0]["line"] == 2 and "waiting for a valid one" in logged[0]["msg"]
    assert daemon.proc.poll() is None  # started, not exited: no crash loop under systemd

    save_like_an_editor(repo / "goals.yaml", yaml.safe_dump({"version": 1, "goals": [goal()]}))
    fixed = daemon.wait_for(
        lambda s: not s.get("config_error") and s["goals"] == ["simplify (active)"], "the fix"
    )
    assert fixed["config_fingerprint"] == config_digest(repo)
    assert "configuration: ok (simplify (active))" in ratchet("status", "--repo", str(repo)).stdout
    assert daemon.terminate() == 0
