"""The daemon's parts, each against the real thing: real sockets, real processes, real git
repositories in tmp_path, real APScheduler triggers. The daemon as a whole is in
test_daemon.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.daemon.child import ChildSpec, last_json_object, run_child
from engine.daemon.configuration import ConfigKeeper, config_digest
from engine.daemon.inbox import Batch, ConfigEdited, CycleRequested, Inbox, StopRequested
from engine.daemon.lock import AlreadyRunning, DaemonLock, is_running
from engine.daemon.notify import SystemdNotifier
from engine.daemon.paths import StatePaths
from engine.daemon.reconcile import reconcile
from engine.daemon.schedule import Entry, LastRuns, entries, missed
from engine.daemon.selfhost import KNOWN_GOOD, SelfHost, is_self_hosting
from engine.daemon.service import install_unit, unit_name
from engine.daemon.status import DaemonStatus, OutcomeInfo, read_status, write_status
from engine.daemon.watcher import Debouncer
from engine.model import Identity, Schedule
from engine.vcs import Repository
from engine.vcs.branches import scan_branches
from tests.git_testing import BOT_ENV, HUMAN_ENV
from tests.repo_helpers import git
from tests.waiting import wait_until

BOT = Identity()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def commit(repo: Path, rel: str, text: str, message: str, env: dict[str, str]) -> str:
    path = repo / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")


def new_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    commit(root, "README", "hello\n", "initial", HUMAN_ENV)
    return root


# --------------------------------------------------------------------------- schedule


@pytest.mark.parametrize(
    ("entry", "last", "now", "expected"),
    [
        # nightly 02:00 UTC, last fired the night before yesterday, now 03:00: one missed run
        (Entry("c", cron="0 2 * * *"), "2025-03-01 02:00", "2025-03-03 03:00", "2025-03-02 02:00"),
        # fired last night, now after it: nothing missed
        (Entry("c", cron="0 2 * * *"), "2025-03-03 02:00", "2025-03-03 03:00", None),
        # down from 01:00 to 01:59: the 02:00 run is still ahead
        (Entry("c", cron="0 2 * * *"), "2025-03-02 02:00", "2025-03-03 01:59", None),
        # 02:00 Paris is 01:00 UTC in winter
        (
            Entry("c", cron="0 2 * * *", timezone="Europe/Paris"),
            "2025-01-01 01:00",
            "2025-01-02 01:30",
            "2025-01-02 01:00",
        ),
        # interval of 30 minutes, down for an hour
        (Entry("i", minutes=30), "2025-03-03 10:00", "2025-03-03 11:00", "2025-03-03 10:30"),
        (Entry("i", minutes=30), "2025-03-03 10:00", "2025-03-03 10:20", None),
        # never fired: a fresh install does not run at once
        (Entry("c", cron="0 2 * * *"), None, "2025-03-03 03:00", None),
    ],
)
def test_missed_runs(entry: Entry, last: str | None, now: str, expected: str | None) -> None:
    got = missed(entry, utc(last) if last else None, utc(now))
    assert (got.astimezone(UTC) if got else None) == (utc(expected) if expected else None)


def test_schedule_entries_and_last_runs(tmp_path: Path) -> None:
    schedule = Schedule(
        cron=("0 2 * * *", "30 12 * * sat"), timezone="Europe/Paris", interval_minutes=15
    )
    assert [e.key for e in entries(schedule)] == [
        "cron:0 2 * * *@Europe/Paris",
        "cron:30 12 * * sat@Europe/Paris",
        "interval:15",
    ]
    runs = LastRuns(tmp_path / "s.json")
    assert runs.load() == {}
    runs.record("interval:15", utc("2025-03-03 10:00"))
    assert runs.load() == {"interval:15": utc("2025-03-03 10:00")}


# --------------------------------------------------------------------------- lock, status


def test_one_lock_holder_and_running_is_decided_by_the_lock(tmp_path: Path) -> None:
    path = tmp_path / ".ratchet" / "daemon.lock"

    def seen_running_elsewhere() -> bool:
        """``is_running`` in another process; it answers from its flock probe (filelock,
        ~30 ms of imports on every ``ratchet status``, stays unimported)."""
        code = (
            "import sys, pathlib; from engine.daemon.lock import is_running; "
            f"running = is_running(pathlib.Path({str(path)!r})); "
            "assert 'filelock' not in sys.modules; sys.exit(0 if running else 1)"
        )
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        probe = subprocess.run([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
        assert probe.returncode in (0, 1), probe.stderr
        return probe.returncode == 0

    assert not is_running(path)
    first = DaemonLock(path)
    first.acquire()
    # Another process sees it held; a second holder is refused.
    assert seen_running_elsewhere()
    with pytest.raises(AlreadyRunning, match="already running"):
        DaemonLock(path).acquire()
    first.release()
    assert not is_running(path)  # the file stays; it means nothing without the flock
    assert not seen_running_elsewhere()


def test_status_round_trip_tolerates_unknown_and_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    status = DaemonStatus(pid=7, state="idle", goals=("a (active)",)).with_outcome(
        OutcomeInfo(finished="t", outcome="merged", goal="a")
    )
    write_status(path, status)
    assert read_status(path) == status
    path.write_text('{"pid": 3, "from_the_future": 1}')
    assert read_status(path) == DaemonStatus(pid=3)
    path.write_text("{torn")
    assert read_status(path) is None


# --------------------------------------------------------------------------- systemd


def test_sd_notify_sends_datagrams_without_blocking(tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(address)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": address})
        assert notifier.ready("idle") and notifier.stopping()
        first = server.recv(4096).decode()
        assert "READY=1" in first and "STATUS=idle" in first and f"MAINPID={os.getpid()}" in first
        assert server.recv(4096) == b"STOPPING=1"
    assert not SystemdNotifier({}).ready()  # outside systemd: a no-op
    assert not SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).ready()


def test_install_unit_writes_a_notify_unit_under_xdg_config_home(tmp_path: Path) -> None:
    repo = tmp_path / "my repo%"
    repo.mkdir()
    unit = install_unit(
        repo,
        ("/usr/bin/python3", "-P", "-m", "engine.cli"),
        {"PYTHONPATH": "/opt/ratchet"},
        environ={"XDG_CONFIG_HOME": str(tmp_path / "cfg")},
    )
    assert unit.path == tmp_path / "cfg" / "systemd" / "user" / "ratchet-my-repo.service"
    assert unit.name == unit_name(repo)
    text = unit.path.read_text()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillMode=mixed",
        "TimeoutStopSec=120",
        "RestartPreventExitStatus=2 3",
        "Environment=PYTHONPATH=/opt/ratchet",
        "WantedBy=default.target",
    ):
        assert line in text.splitlines(), line
    # the path is quoted and its % escaped (systemd would expand it as a specifier)
    assert f"--repo '{tmp_path}/my repo%%' --log-json" in text
    assert any("enable --now ratchet-my-repo.service" in c for c in unit.enable_commands)


# --------------------------------------------------------------------------- child processes


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    result = run_child(
        ChildSpec(
            argv=(sys.executable, "-c", script),
            cwd=tmp_path,
            env=dict(os.environ),
            timeout=1.5,
            grace=1.0,
            output=tmp_path / "out",
        )
    )
    print(f"timed out and killed in {time.monotonic() - started:.2f}s")
    assert result.timed_out and not result.ok
    grandchild = int(pidfile.read_text())
    wait_until(lambda: _gone(grandchild), "the grandchild to be killed", timeout=5)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _gone(pid: int) -> bool:
    """Exited (a zombie counts: it runs nothing any more)."""
    try:
        return _state(pid) == "Z"
    except OSError:
        return True


def test_a_stopped_child_gets_sigterm_first_and_may_clean_up(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    script = (
        "import signal, sys, time\n"
        "def term(*a):\n"
        f"    open({str(marker)!r}, 'w').write('yes'); sys.exit(1)\n"
        "signal.signal(signal.SIGTERM, term)\n"
        "print('working', flush=True)\n"
        "time.sleep(60)\n"
    )
    out = tmp_path / "out.out"
    result = run_child(
        ChildSpec(
            argv=(sys.executable, "-c", script),
            cwd=tmp_path,
            env=dict(os.environ),
            grace=5.0,
            output=tmp_path / "out",
        ),
        # stop once its handler is installed (it prints after installing it)
        should_stop=lambda: "paused" if out.exists() and "working" in out.read_text() else None,
    )
    assert result.interrupted == "paused" and not result.killed
    assert marker.read_text() == "yes"
    assert result.stdout == "working\n"


def test_a_child_dies_with_the_daemon(tmp_path: Path) -> None:
    """PDEATHSIG: a daemon killed with -9 takes its cycle child down (with SIGTERM)."""
    pidfile = tmp_path / "child.pid"
    parent = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from engine.daemon.child import ChildSpec, run_child\n"
        "child = 'import os, time; open(%r, \"w\").write(str(os.getpid())); time.sleep(60)'\n"
        f"run_child(ChildSpec(argv=(sys.executable, '-c', child % {str(pidfile)!r}),"
        f" cwd=Path({str(tmp_path)!r}), env=dict(os.environ)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", parent], env=env)
    child = int(wait_until(lambda: pidfile.exists() and pidfile.read_text(), "the child"))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_until(lambda: _gone(child), "the child to die with its daemon", timeout=5)


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ('progress\n{"outcome": "merged"}\n', {"outcome": "merged"}),
        ('{"a": 1}\nlog line\n{"outcome": "rejected"}\n\n', {"outcome": "rejected"}),
        ("no json at all\n", None),
        ('{"torn": \n', None),
        ("[1, 2]\n", None),
    ],
)
def test_last_json_object(stdout: str, expected: object) -> None:
    assert last_json_object(stdout) == expected


# --------------------------------------------------------------------------- watching


def test_config_digest_changes_with_content_not_with_touching(tmp_path: Path) -> None:
    (tmp_path / "goals.yaml").write_text("version: 1\n")
    (tmp_path / "rules").mkdir()
    before = config_digest(tmp_path)
    os.utime(tmp_path / "goals.yaml", (1, 1))
    assert config_digest(tmp_path) == before
    (tmp_path / "rules" / "extra.yaml").write_text("version: 1\n")
    assert config_digest(tmp_path) != before
    (tmp_path / "rules" / "notes.txt").write_text("ignored")
    assert config_digest(tmp_path) == config_digest(tmp_path)


def test_debouncer_collapses_a_burst_into_one_call() -> None:
    calls: list[float] = []
    debouncer = Debouncer(lambda: calls.append(time.monotonic()), 0.2)
    debouncer.start()
    start = time.monotonic()
    last_poke = start
    for _ in range(10):
        last_poke = time.monotonic()  # before the poke: its delay starts after this instant
        debouncer.poke()
        time.sleep(0.02)  # the burst itself: pokes 20 ms apart, closer than the delay
    wait_until(lambda: calls, "the debounced call", timeout=5)
    debouncer.close()
    # The first call came a full delay after the last poke: none fired mid-burst.
    # ...and soon after it (measured from the last poke: a loaded machine stretches the burst).
    assert len(calls) == 1 and 0.2 <= calls[0] - last_poke < 0.6


# --------------------------------------------------------------------------- branches


def _branch(repo: Path, name: str, steps: list[tuple[str, dict[str, str]]]) -> str:
    git(repo, "checkout", "-q", "-b", name, "main")
    for i, (message, env) in enumerate(steps):
        commit(repo, f"f_{name.replace('/', '_')}_{i}.py", f"x = {i}\n", message, env)
    tip = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    return tip


def test_branches_are_classified_and_reconcile_touches_only_half_made_ones(
    tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "repo")
    evaluating = "Flatten\n\nRatchet-Goal: g\nRatchet-Decision: evaluating\n"
    review = "Flatten\n\nRatchet-Goal: g\nRatchet-Decision: review\n"
    tips = {
        "ratchet/g/1": _branch(repo, "ratchet/g/1", [(evaluating, BOT_ENV)]),
        "ratchet/g/2": _branch(repo, "ratchet/g/2", [(review, BOT_ENV)]),
        "ratchet/g/3": _branch(repo, "ratchet/g/3", [(evaluating, BOT_ENV), ("mine", HUMAN_ENV)]),
        "ratchet/g/4": _branch(repo, "ratchet/g/4", []),  # killed right after `worktree add`
        "ratchet/notes": _branch(repo, "ratchet/notes", [("not the cycle's", HUMAN_ENV)]),
    }
    repository = Repository.open(repo)
    kinds = {b.name: b.kind for b in scan_branches(repository, BOT)}
    assert kinds == {
        "ratchet/g/1": "half-made",
        "ratchet/g/2": "review",
        "ratchet/g/3": "human",
        "ratchet/g/4": "half-made",
    }

    report = reconcile(repository, StatePaths.for_repo(repo), BOT)

    assert report.fsck_ok and not report.errors
    assert report.archived == ("ratchet/g/1 -> refs/ratchet/rejected/g/1",)
    assert set(report.deleted) == {"ratchet/g/1", "ratchet/g/4"}
    assert report.human == ("ratchet/g/3",)
    refs = dict(
        line.split(" ", 1)[::-1]
        for line in git(repo, "for-each-ref", "--format=%(objectname) %(refname)").splitlines()
    )
    assert refs["refs/ratchet/rejected/g/1"] == tips["ratchet/g/1"]  # nothing is lost
    assert refs["refs/heads/ratchet/g/2"] == tips["ratchet/g/2"]
    assert refs["refs/heads/ratchet/g/3"] == tips["ratchet/g/3"]  # a human's: untouched
    assert refs["refs/heads/ratchet/notes"] == tips["ratchet/notes"]
    assert "refs/heads/ratchet/g/1" not in refs and "refs/heads/ratchet/g/4" not in refs


def test_reconcile_commits_partial_work_of_a_killed_cycle_then_archives_it(
    tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "repo")
    repository = Repository.open(repo)
    worktree = repository.add_worktree("g-5", commit="main", branch="ratchet/g/5")
    (worktree / "half.py").write_text("def half():\n    pass\n")  # written, never committed
    (Path(git(worktree, "rev-parse", "--absolute-git-dir")) / "index.lock").write_text("")

    report = reconcile(repository, StatePaths.for_repo(repo), BOT)

    assert report.partial_commits == (str(worktree),)
    assert report.worktrees_removed == (str(worktree.resolve()),)
    assert not worktree.exists()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert "half.py" in git(repo, "show", "--name-only", "--format=", "refs/ratchet/rejected/g/5")
    assert git(repo, "branch", "--list", "ratchet/*") == ""
    assert report.fsck_ok


def test_reconcile_waits_for_a_cycle_that_holds_the_cycle_lock(tmp_path: Path) -> None:
    from filelock import FileLock

    repo = new_repo(tmp_path / "repo")
    repository = Repository.open(repo)
    repository.add_worktree("g-1", commit="main", branch="ratchet/g/1")
    paths = StatePaths.for_repo(repo)
    with FileLock(str(paths.state / "cycle.lock")):
        report = reconcile(repository, paths, BOT)
    assert report.skipped and not report.changed
    assert (paths.worktrees / "g-1").is_dir()


# --------------------------------------------------------------------------- self-hosting


def _ratchet_like(root: Path) -> Path:
    repo = new_repo(root)
    commit(repo, "pyproject.toml", '[project]\nname = "ratchetd"\n', "pyproject", HUMAN_ENV)
    commit(repo, "engine/cycle.py", "# v1\n", "engine v1", HUMAN_ENV)
    return repo


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"engine/cycle.py": "", "pyproject.toml": '[project]\nname = "ratchetd"\n'}, True),
        ({"engine/cycle.py": "", "pyproject.toml": '[project]\nname = "other"\n'}, False),
        ({"pyproject.toml": '[project]\nname = "ratchetd"\n'}, False),
        ({"engine/cycle.py": "", "pyproject.toml": "not toml ["}, False),
    ],
)
def test_is_self_hosting(tmp_path: Path, files: dict[str, str], expected: bool) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert is_self_hosting(tmp_path) is expected


def test_known_good_promotion_rollback_and_pin(tmp_path: Path) -> None:
    repo = _ratchet_like(tmp_path / "repo")
    paths = StatePaths.for_repo(repo)
    host = SelfHost(Repository.open(repo), paths)
    v1 = git(repo, "rev-parse", "main")
    assert host.ensure_known_good(v1) == v1
    assert git(repo, "rev-parse", f"refs/tags/{KNOWN_GOOD}") == v1
    runtime = host.runtime(v1)
    assert runtime == paths.runtime / v1
    assert (runtime / "engine" / "cycle.py").read_text() == "# v1\n"

    commit(repo, "README", "docs only\n", "docs", HUMAN_ENV)
    assert not host.needs_canary(git(repo, "rev-parse", "main"))  # not ratchet's code
    v2 = commit(repo, "engine/cycle.py", "# v2\n", "engine v2", BOT_ENV)
    assert host.needs_canary(v2)
    assert host.code_commits(v1, v2) == [v2]
    assert host.promote(v2, "canary passed")
    assert host.known_good() == v2 and not host.needs_canary(v2)

    # Two failures are tolerated; the third in a row rolls back to v1, and v2 is bad now.
    assert host.record_cycle(failed=False, crashed=False, threshold=3) is None
    assert host.record_cycle(failed=True, crashed=False, threshold=3) is None
    assert host.record_cycle(failed=True, crashed=False, threshold=3) is None
    reason = host.record_cycle(failed=True, crashed=False, threshold=3)
    assert reason == "3 failed cycles in a row"
    assert host.rollback(reason) == v1 and host.known_good() == v1
    assert not host.needs_canary(v2)  # refused code is not tried again
    assert [e["action"] for e in host.load().events] == ["rolled-back", "promoted", "initial"]

    # A human's pin wins over known-good and stops promotion and rollback.
    (paths.control).mkdir(parents=True, exist_ok=True)
    (paths.pin).write_text(v2 + "\n")
    assert host.runtime_revision() == v2
    v3 = commit(repo, "engine/cycle.py", "# v3\n", "engine v3", BOT_ENV)
    assert not host.needs_canary(v3)
    paths.pin.unlink()
    assert host.runtime_revision() == v1 and host.needs_canary(v3)
    assert host.prune_runtimes({v1}) == []  # only v1 was ever checked out


# --------------------------------------------------------------------------- configuration boundary


def _laughs() -> bytes:
    lines = ["version: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return ("\n".join([*lines, "goals: *a8"]) + "\n").encode()


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _replace(make: Callable[[Path], None]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        path.unlink()
        make(path)

    return damage


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            _write(b"version: 1\ngoals: []\x00\n"),
            "goals.yaml:2:10: (file): a control character (U+0000, NUL)",
        ),
        (_write(b"[" * 5000), "goals.yaml:1:51: (file): refused: too deep"),
        (_write(b"- " * 150 + b"x\n"), "goals.yaml:1:101: (file): refused: too deep"),
        (_write(_laughs()), "goals.yaml:6:14: (file): refused: too many values"),
        (_write(b"version: 1\n# caf\xe9\n"), "goals.yaml:2:6: (file): not UTF-8 text"),
        (_write(b"x" * 3_000_000), "goals.yaml:1:1: (file): is larger than the limit of 1 MiB"),
        (_replace(os.mkfifo), "goals.yaml:1:1: (file): is a FIFO (named pipe), not a regular"),
        (_replace(os.mkdir), "goals.yaml:1:1: (file): is a directory, not a regular file"),
        (
            _replace(lambda p: p.symlink_to("/etc/passwd")),
            "goals.yaml:1:1: (file): is a symlink to a file outside the repository",
        ),
        (_write(b"version: 1\ngoals: [}\n"), "goals.yaml:2:9: (file): invalid YAML"),
    ],
)
def test_config_keeper_refuses_hostile_files_and_keeps_the_last_good(
    tmp_path: Path, damage: Callable[[Path], None], expected: str
) -> None:
    from engine.config import init_repo

    init_repo(tmp_path)
    keeper = ConfigKeeper(tmp_path)
    first = keeper.reload()
    assert first.kind == "loaded" and first.config is not None
    damage(tmp_path / "goals.yaml")
    started = time.monotonic()
    result = keeper.reload()
    assert time.monotonic() - started < 5
    assert result.kind == "invalid" and result.error.startswith(expected), result.error
    assert keeper.config is first.config  # the last good one stays in force
    assert keeper.reload().kind == "unchanged"  # same bytes: not read again
    assert config_digest(tmp_path) == keeper.digest


def test_an_unexpected_loader_exception_is_a_config_error_on_the_changed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.config import init_repo

    init_repo(tmp_path)
    keeper = ConfigKeeper(tmp_path)
    assert keeper.reload().kind == "loaded"
    (tmp_path / "directives.yaml").write_text("version: 1\n")

    def explode(repo: Path) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("engine.config.load_config", explode)
    result = keeper.reload()
    assert result.kind == "invalid"
    assert result.error.startswith(
        "directives.yaml:1:1: (file): could not be loaded (RecursionError: maximum recursion"
    )


@pytest.mark.parametrize(
    ("status", "lines"),
    [
        (DaemonStatus(), ["not loaded yet"]),
        (DaemonStatus(config_fingerprint="ab", goals=("g (active)",)), ["ok (g (active))"]),
        (
            DaemonStatus(config_fingerprint="ab", config_error="goals.yaml:1:1: x"),
            ["INVALID (the last good one stays in force)", "goals.yaml:1:1: x"],
        ),
        (
            DaemonStatus(config_error="goals.yaml:2:9: y"),
            ["INVALID (no valid configuration yet: waiting for one)", "goals.yaml:2:9: y"],
        ),
    ],
)
def test_status_says_ok_only_for_a_configuration_it_loaded(
    status: DaemonStatus, lines: list[str]
) -> None:
    assert status.config_lines() == lines


def test_inbox_coalesces_events_in_order() -> None:
    inbox = Inbox()
    assert inbox.drain() == Batch()
    for item in (
        CycleRequested("a"),
        ConfigEdited(),
        StopRequested("SIGTERM"),
        CycleRequested("b", scheduled=True),
        StopRequested("SIGINT"),
    ):
        inbox.post(item)
    assert inbox.wait(1.0) == Batch(
        stop="SIGTERM",
        config=True,
        requests=(CycleRequested("a"), CycleRequested("b", scheduled=True)),
    )
    assert inbox.wait(0.01) == Batch()
