"""The adversarial corpus (tests/corpus/*.yaml) through the real ``ratchet run-once --plan``.

For every hostile or broken plan: nothing merges, the target branch does not move, the
user's working tree/index/HEAD stay byte-identical, the host is untouched (a canary in the
host's /tmp, a fake HOME, the repository's .git/config and hooks, no stray files, no
surviving processes), no secret from the ratchet process's environment appears anywhere,
and the record names the guard or rule that stopped it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.repo_helpers import git, make_repo, ratchet, snapshot_of_user_state, write

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.yaml"))
SECRET_VAR = "RATCHET_CORPUS_SECRET"

GOALS: list[dict[str, Any]] = [
    {
        "id": "corpus",
        "description": "Anything, anywhere.",
        "scope": ["**"],
        "provider": "scripted",
        "max_attempts": 1,
    },
    {
        "id": "narrow",
        "description": "Only the package.",
        "scope": ["calc/**/*.py"],
        "provider": "scripted",
        "max_attempts": 1,
    },
]
DIRECTIVES: dict[str, Any] = {
    "target_branch": "main",
    # short, so that endless loops end quickly; a loaded machine may need more
    # (RATCHET_CORPUS_TIMEOUT=60) for the baseline to finish in time
    "timeouts": {"tests": float(os.environ.get("RATCHET_CORPUS_TIMEOUT", "30"))},
    "flaky_reruns": 0,
    "limits": {"processes": 64, "memory_mb": 1024},
}
REEXPORTS = '"""The public API: callers import from here."""\nfrom calc.ops import add, classify\n'
# Files committed by a case's ``# setup: <name>`` (gate v2 cases 80-82).
SETUP_FILES: dict[str, dict[str, str]] = {
    "doctest-module": {
        "calc/text.py": 'def shout(word):\n    """\n    >>> shout("hi")\n    \'HI!\'\n    """\n'
        '    return word.upper() + "!"\n',
    },
    "recorded-calls": {
        "calc/buckets.py": 'def bucket(n):\n    if n < 10:\n        return "small"\n'
        '    if n < 100:\n        return "medium"\n    return "large"\n\n\n'
        "def describe(values):\n    return [bucket(v) for v in values]\n",
        "tests/test_buckets.py": "from calc.buckets import describe\n\n\n"
        "def test_describe():\n    assert len(describe([1, 50, 500])) == 3\n",
    },
}
LEGACY = "# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n".encode("latin-1")


@dataclass(frozen=True)
class Expectation:
    expect: tuple[str, ...]
    outcome: str = "rejected"
    goal: str = "corpus"
    setup: tuple[str, ...] = ()
    exit: int = 0  # 2: refused as bad input before any cycle starts (then no record exists)


def read_expectation(path: Path) -> Expectation:
    """The ``# key: value`` lines at the top of a corpus file."""
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(":")
        if sep and key.strip() in ("expect", "outcome", "goal", "setup", "exit"):
            fields[key.strip()] = value.strip()
    assert fields.get("expect"), f"{path.name}: no '# expect:' header"
    return Expectation(
        expect=tuple(x.strip() for x in fields["expect"].split(",")),
        outcome=fields.get("outcome", "rejected"),
        goal=fields.get("goal", "corpus"),
        setup=tuple(x.strip() for x in fields.get("setup", "").split(",") if x.strip()),
        exit=int(fields.get("exit", "0")),
    )


class Listener:
    """A TCP server on the host's loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@dataclass
class Host:
    """What the hostile code aims at, with a fingerprint taken before the run."""

    repo: Path
    home: Path
    canary: Path
    outside: Path  # tmp_path: nothing may appear here outside the repository
    token: str
    listener: Listener
    secret: str = field(default_factory=lambda: f"s3cr3t-{uuid.uuid4().hex}")

    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home), SECRET_VAR: self.secret}

    def fingerprint(self) -> dict[str, Any]:
        git_dir = self.repo / ".git"
        return {
            "user": snapshot_of_user_state(self.repo),
            "git-config": _tree(git_dir / "config"),
            "git-hooks": _tree(git_dir / "hooks"),
            "home": _tree(self.home),
            "canary": _tree(self.canary),
            "outside": sorted(
                p.relative_to(self.outside).as_posix()
                for p in self.outside.rglob("*")
                if not p.is_relative_to(self.repo)
            ),
            "target": git(self.repo, "rev-parse", "main"),
        }


def _tree(path: Path) -> dict[str, str]:
    """Name -> content hash (or link target) of a file or of everything under a directory."""
    if not path.exists():
        return {}
    paths = [path] if path.is_file() else sorted(path.rglob("*"))
    out = {}
    for p in paths:
        key = p.relative_to(path).as_posix() if p != path else p.name
        if p.is_symlink():
            out[key] = "link:" + os.readlink(p)
        elif p.is_file():
            out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[key] = "dir"
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One configured repository with its baseline already measured and cached."""
    root = make_repo(
        tmp_path_factory.mktemp("corpus") / "template", goals=GOALS, directives=DIRECTIVES
    )
    (root / "calc" / "legacy.py").write_bytes(LEGACY)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a legacy Latin-1 module")
    warm = write(
        root.parent / "warm.yaml",
        "summary: warm\nedits:\n  - {file: ../x.py, op: create, code: 'X = 1'}\n",
    )
    run = ratchet(
        "run-once", "--repo", str(root), "--goal", "corpus", "--plan", str(warm), "--json"
    )
    assert run.code == 0, run.stderr
    assert run.json["baseline"]["tests"]["passed"] == 2, run.json["baseline"]
    # keep the cached baseline, forget the warm-up cycle
    (root / ".ratchet" / "journal.jsonl").unlink()
    for ref in git(root, "for-each-ref", "--format=%(refname)", "refs/ratchet/").split():
        git(root, "update-ref", "-d", ref)
    return root


@pytest.fixture
def host(template: Path, tmp_path: Path) -> Iterator[Host]:
    repo = tmp_path / "repo"
    shutil.copytree(template, repo, symlinks=True)
    git(repo, "status", "--porcelain")  # a copy has new inodes: let git refresh its index now
    home = tmp_path / "home"
    write(home / ".bashrc", "# the user's own bashrc\n")
    token = uuid.uuid4().hex[:12]
    canary = Path(tempfile.mkdtemp(prefix=f"ratchet-canary-{token}-", dir="/tmp"))
    (canary / "canary.txt").write_text("canary\n")
    listener = Listener()
    try:
        yield Host(
            repo=repo, home=home, canary=canary, outside=tmp_path, token=token, listener=listener
        )
    finally:
        listener.close()
        shutil.rmtree(canary, ignore_errors=True)


def prepare(case: Path, exp: Expectation, host: Host, dest: Path) -> Path:
    """Apply the case's setup to the repository and write the plan with its placeholders
    filled in."""
    if "on-protected-review" in exp.setup:
        directives = host.repo / "directives.yaml"
        directives.write_text(directives.read_text() + "on_protected: review\n")
        git(host.repo, "commit", "-qam", "protected edits go to review")
    if "reexport-module" in exp.setup:
        write(host.repo / "calc" / "api.py", REEXPORTS)
        git(host.repo, "add", "calc/api.py")
        git(host.repo, "commit", "-qm", "a public module re-exporting the helpers")
    if "test-command-auto" in exp.setup:
        directives = host.repo / "directives.yaml"
        # Through YAML, not a line regex: a long default command is wrapped over lines.
        config = yaml.safe_load(directives.read_text())
        config["test_command"] = "auto"
        directives.write_text(yaml.safe_dump(config, sort_keys=False))
        git(host.repo, "commit", "-qam", "test_command: auto")
    for name in exp.setup:  # gate v2 cases: extra committed files
        if name in SETUP_FILES:
            for rel, body in SETUP_FILES[name].items():
                write(host.repo / rel, body)
            git(host.repo, "add", "-A")
            git(host.repo, "commit", "-qm", f"setup {name}")
    if "committed-symlink-out" in exp.setup:
        os.symlink(host.canary, host.repo / "shared")
        git(host.repo, "add", "shared")
        git(host.repo, "commit", "-qm", "a symlink to a shared directory")
    git(host.repo, "status", "--porcelain")
    text = case.read_text(encoding="utf-8")
    values = {
        "@HOME@": str(host.home), "@CANARY@": str(host.canary), "@REPO@": str(host.repo),
        "@PORT@": str(host.listener.port), "@TOKEN@": host.token, "@SECRET_VAR@": SECRET_VAR,
        "@CANARY_HEX@": str(host.canary).encode().hex(),
        "@HOME_HEX@": str(host.home).encode().hex(),
    }  # fmt: skip
    for key, value in values.items():
        text = text.replace(key, value)
    text = re.sub(
        r"^( *)@LINES:(\d+)@$",
        lambda m: "\n".join(f"{m.group(1)}value_{i} = {i}" for i in range(int(m.group(2)))),
        text,
        flags=re.M,
    )
    text = re.sub(r"@BYTES:(\d+)@", lambda m: "x" * int(m.group(1)), text)
    return write(dest, text)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_hostile_plan_is_stopped(case: Path, host: Host, tmp_path: Path) -> None:
    exp = read_expectation(case)
    plan = prepare(case, exp, host, tmp_path / "plan.yaml")
    before = host.fingerprint()

    run = ratchet(
        "run-once",
        "--repo",
        str(host.repo),
        "--goal",
        exp.goal,
        "--plan",
        str(plan),
        "--json",
        env=host.env(),
    )

    if exp.exit:
        _assert_refused_as_input(exp, run.code, run.stderr, host, before)
        return
    assert run.code == 0, run.stderr
    result = run.json
    failed = {r["id"] for r in result["rules"] if not r["passed"]}
    assert result["outcome"] == exp.outcome, (result["outcome"], failed, result["message"])
    assert set(exp.expect) <= failed, f"{case.name}: expected {exp.expect}, failed {failed}"
    after = host.fingerprint()
    assert after == before  # target branch, user state, .git config/hooks, home, canary
    assert result["target_after"] == before["target"]

    log = ratchet("log", "--repo", str(host.repo), "--json", env=host.env())
    assert log.code == 0, log.stderr
    entry = json.loads(log.stdout)[-1]
    assert entry["outcome"] == exp.outcome
    recorded = {r["id"] for r in entry["rules"] if not r["passed"]}
    assert set(exp.expect) <= recorded
    text = ratchet("log", "--repo", str(host.repo), env=host.env()).stdout
    assert all(f"failed {rule}" in text for rule in exp.expect)

    _assert_secret_never_recorded(host, run.stdout + run.stderr + log.stdout + text)
    _assert_no_stray_effects(host)
    _assert_records_hold_no_symlinks(host, result)


def _assert_refused_as_input(
    exp: Expectation, code: int, stderr: str, host: Host, before: dict[str, Any]
) -> None:
    """Refused before a cycle starts: the reason is on stderr; no branch, ref or record."""
    assert code == exp.exit, stderr
    assert all(reason in stderr for reason in exp.expect), stderr
    assert host.fingerprint() == before
    assert git(host.repo, "for-each-ref", "refs/ratchet/", "refs/heads/ratchet/") == ""
    assert not (host.repo / ".ratchet" / "journal.jsonl").exists()
    _assert_secret_never_recorded(host, stderr)
    _assert_no_stray_effects(host)


def _assert_secret_never_recorded(host: Host, outputs: str) -> None:
    assert host.secret not in outputs
    everything = subprocess.run(
        ["git", "log", "--all", "-p", "--format=%B"], cwd=host.repo, check=True, capture_output=True
    ).stdout
    assert host.secret.encode() not in everything
    for path in (host.repo / ".ratchet").rglob("*"):
        if path.is_file():
            assert host.secret.encode() not in path.read_bytes(), path


def _assert_no_stray_effects(host: Host) -> None:
    assert host.listener.accepted == 0
    for place in (Path("/tmp"), Path("/var/tmp")):
        stray = [p for p in place.glob(f"*{host.token}*") if p != host.canary]
        assert stray == []
    survivors = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if host.token.encode() in cmdline.read_bytes():
                survivors.append(cmdline.parent.name)
        except OSError:
            continue
    assert survivors == []
    global_config = host.home / ".gitconfig"
    assert not global_config.exists()


def _assert_records_hold_no_symlinks(host: Host, result: dict[str, Any]) -> None:
    commit = result.get("commit")
    if not commit:
        return
    tree = subprocess.run(
        ["git", "ls-tree", "-r", commit], cwd=host.repo, check=True, capture_output=True, text=True
    ).stdout
    recorded_links = [line for line in tree.splitlines() if line.startswith("120000")]
    expected = ["shared"] if (host.repo / "shared").is_symlink() else []
    assert [line.split("\t")[1] for line in recorded_links] == expected


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 70
    for case in CASES:
        read_expectation(case)
