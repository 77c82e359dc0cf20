"""The fleet file and its members: every validation error names the file, line, field and
fix; a bad member is reported and skipped, never fatal; defaults; the shared executor
reaches only the members that set none."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.config.shared import SHARED_EXECUTOR_ENV, shared_executor, with_shared_executor
from engine.errors import ConfigError, FleetFileError
from engine.fleet.file import load_fleet
from engine.fleet.members import resolve_members
from engine.model import Executor
from tests.git_testing import HUMAN_ENV
from tests.repo_helpers import git, make_repo, ratchet, write


def fleet_file(tmp_path: Path, text: str) -> Path:
    return write(tmp_path / "ops" / "fleet.yaml", textwrap.dedent(text))


def test_defaults_names_paths_and_state_directory(tmp_path: Path) -> None:
    path = fleet_file(
        tmp_path,
        """\
        version: 1
        repos:
          - path: ../service-a
          - path: /srv/lib
            name: lib-b
            paused: true
        """,
    )
    fleet = load_fleet(path)
    a, b = fleet.entries
    assert (a.name, a.path, a.paused, a.line, a.col) == (
        "service-a",
        tmp_path / "service-a",
        False,
        3,
        11,
    )
    assert (b.name, b.path, b.paused) == ("lib-b", Path("/srv/lib"), True)
    assert fleet.executor is None and fleet.parallel == 1
    assert fleet.state_dir == tmp_path / "ops" / ".ratchet-fleet" / "fleet"


# (fleet file text, every expected message line)
INVALID = [
    ("repos: []\n", ["fleet.yaml:1:1: version: missing required key 'version'; add 'version: 1'"]),
    (
        "version: 1\n",
        ["fleet.yaml:1:1: repos: missing required key 'repos'; add 'repos: [{path: ../my-repo}]'"],
    ),
    (
        "version: 1\nrepos: []\n",
        ["fleet.yaml:2:8: repos: lists no repository; add one: repos: [{path: ../my-repo}]"],
    ),
    (
        "version: 1\nrepos: ../a\n",
        ["fleet.yaml:2:8: repos: expected a list, got a string ('../a'); write a list: ['../a']"],
    ),
    (
        "version: 1\nrepos:\n  - name: a\n",
        ["fleet.yaml:3:5: repos[0].path: missing required key 'path'; add 'path: ../my-repo'"],
    ),
    (
        "version: 1\nrepos:\n  - path: ../a\n    pause: true\n",
        ["fleet.yaml:4:5: repos[0].pause: unknown key 'pause'; did you mean 'paused'?"],
    ),
    (
        "version: 1\nrepos:\n  - path: ../a\n    paused: yes please\n",
        ["fleet.yaml:4:13: repos[0].paused: expected true or false, got a string ('yes please')"],
    ),
    (
        "version: 1\nrepos:\n  - {path: ../a, name: a/b}\n",
        [
            "fleet.yaml:3:24: repos[0].name: invalid member name 'a/b'; letters, digits, '.', "
            "'_' and '-', starting with a letter or digit"
        ],
    ),
    (
        "version: 1\nrepos:\n  - path: ../my repo\n",
        [
            "fleet.yaml:3:11: repos[0].path: the directory name 'my repo' cannot name a member "
            "(letters, digits, '.', '_' and '-', starting with a letter or digit); add "
            "'name: ...' to this entry"
        ],
    ),
    (
        "version: 1\nrepos:\n  - path: ../x/a\n  - path: ../y/a\n",
        [
            "fleet.yaml:4:11: repos[1].path: a second member named 'a' (the first is repos[0]); "
            "give one of them another 'name:'"
        ],
    ),
    (
        "version: 1\nrepos:\n  - path: ../a\n  - {path: ../b/../a, name: again}\n",
        [
            "fleet.yaml:4:12: repos[1].path: the same repository as repos[0] (TMP/a); list each "
            "repository once: one writer per repository"
        ],
    ),
    (
        "version: 1\nexecutor: {kind: cluster}\nrepos: [{path: ../a}]\n",
        [
            "fleet.yaml:2:18: executor.kind: invalid value 'cluster' (valid: local, ray)",
        ],
    ),
    (
        "version: 1\nexecutor: {kind: local, address: auto}\nrepos: [{path: ../a}]\n",
        [
            "fleet.yaml:2:34: executor.address: an address only means something for 'kind: "
            "ray'; remove 'address' or set 'kind: ray'"
        ],
    ),
    (
        "version: 1\nparallel: 0\nrepos: [{path: ../a}]\n",
        ["fleet.yaml:2:11: parallel: must be at least 1, got 0"],
    ),
    (
        "version: 1\nrepos:\n  - path: ../a\n\t- path: ../b\n",
        ["fleet.yaml:4:1: (file): invalid YAML:"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_every_invalid_fleet_file_names_file_line_field_and_fix(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path / "ops" / "fleet.yaml", text)
    with pytest.raises(FleetFileError) as caught:
        load_fleet(path)
    lines = [line.replace(str(path), "fleet.yaml") for line in str(caught.value).splitlines()]
    lines = [line.replace(str(tmp_path), "TMP") for line in lines]
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(want), (line, want)


def test_a_missing_fleet_file_says_how_to_write_one(tmp_path: Path) -> None:
    with pytest.raises(FleetFileError) as caught:
        load_fleet(tmp_path / "fleet.yaml")
    assert str(caught.value) == (
        f"{tmp_path}/fleet.yaml:1:1: (file): not found; write one (docs/scale.md, 'Fleet'), "
        "or point --fleet at it: 'version: 1' and 'repos: [{path: ../my-repo}]'"
    )


@pytest.mark.sandbox  # starts bubblewrap: cannot run inside ratchet's own sandbox
def test_a_bad_member_is_reported_and_skipped_the_others_stay_usable(tmp_path: Path) -> None:
    good = make_repo(tmp_path / "good")
    bad = make_repo(tmp_path / "bad")
    write(
        bad / "goals.yaml",
        "version: 1\ngoals:\n  - id: x\n    description: y\n    priority: high\n",
    )
    (tmp_path / "plain").mkdir()
    bare = tmp_path / "unconfigured"
    bare.mkdir()
    git(bare, "init", "-q", "-b", "main")
    git(bare, "commit", "-q", "--allow-empty", "-m", "empty", env=HUMAN_ENV)
    path = fleet_file(
        tmp_path,
        """\
        version: 1
        repos:
          - path: ../good
          - path: ../bad
          - path: ../plain
          - path: ../unconfigured
          - path: ../missing
          - {path: ../good/calc, name: again}
        """,
    )
    members = {m.name: m for m in resolve_members(load_fleet(path))}
    assert members["good"].usable and members["good"].path == good
    assert members["bad"].problems == (
        f"bad: {bad}/goals.yaml:5:15: goals[0].priority: expected a whole number, got a string "
        "('high')",
    )
    (plain,) = members["plain"].problems
    assert plain == (
        f"{path}:5:11: repos[2].path: {tmp_path}/plain is not inside a git repository (fatal: "
        "not a git repository (or any of the parent directories): .git); point it at a git "
        "repository with a commit, or `git init` there"
    )
    (unconfigured,) = members["unconfigured"].problems
    assert unconfigured == (
        f"{path}:6:11: repos[3].path: {bare} has no ratchet configuration (goals.yaml, "
        f"directives.yaml, rules missing); run `ratchet init --repo {bare}` there and commit "
        "its files"
    )
    assert members["missing"].problems == (
        f"{path}:7:11: repos[4].path: '../missing' ({tmp_path}/missing) does not exist; "
        "fix the path",
    )
    assert members["again"].problems == (
        f"{path}:8:12: repos[5].path: the same repository as member 'good' ({good}); list each "
        "repository once: one writer per repository",
    )
    assert [m.name for m in members.values() if m.usable] == ["good"]


def test_a_fleet_file_inside_a_member_is_refused_for_that_member(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    path = write(repo / "ops" / "fleet.yaml", "version: 1\nrepos: [{path: .., name: self}]\n")
    (member,) = resolve_members(load_fleet(path))
    assert not member.usable and "the fleet's state would be written into it" in member.problems[0]


def test_check_exits_7_for_an_invalid_fleet_file_and_4_for_a_skipped_member(tmp_path: Path) -> None:
    make_repo(tmp_path / "good")
    broken = write(tmp_path / "ops" / "broken.yaml", "version: 1\nrepos:\n  - paht: ../good\n")
    run = ratchet("fleet", "check", "--fleet", str(broken))
    assert run.code == 7, run.stderr
    assert f"{broken}:3:5: repos[0].paht: unknown key 'paht'; did you mean 'path'?" in run.stderr
    fleet = fleet_file(tmp_path, "version: 1\nrepos:\n  - path: ../good\n  - path: ../gone\n")
    run = ratchet("fleet", "check", "--fleet", str(fleet), "--json")
    assert run.code == 4, run.stderr
    data = json.loads(run.stdout)
    assert [(m["name"], m["usable"]) for m in data["members"]] == [("good", True), ("gone", False)]
    ran = ratchet("fleet", "run-once", "--fleet", str(broken))
    assert ran.code == 7 and not (tmp_path / "ops" / ".ratchet-fleet" / "broken").exists()


# --------------------------------------------------------------------------- shared executor


def test_the_shared_executor_is_checked_like_directives_executor() -> None:
    assert shared_executor({}) is None
    local = shared_executor({SHARED_EXECUTOR_ENV: '{"kind": "local"}'})
    assert local == Executor(kind="local")
    with pytest.raises(ConfigError) as caught:
        shared_executor({SHARED_EXECUTOR_ENV: '{"kind": "local", "adress": "auto"}'})
    assert str(caught.value) == (
        f"{SHARED_EXECUTOR_ENV}:1:19: adress: unknown key 'adress'; did you mean 'address'?"
    )


def test_a_members_own_executor_wins_over_the_fleets(tmp_path: Path) -> None:
    from engine.config import load_config

    plain = make_repo(tmp_path / "plain")
    own = make_repo(tmp_path / "own", directives={"executor": {"kind": "local"}})
    env = {SHARED_EXECUTOR_ENV: '{"kind": "ray", "address": "127.0.0.1:1"}'}
    pytest.importorskip("ray")  # kind ray is refused where Ray is not installed
    given = with_shared_executor(load_config(plain), plain, env).directives.executor
    assert given == Executor(kind="ray", address="127.0.0.1:1")
    kept = with_shared_executor(load_config(own), own, env).directives.executor
    assert kept == Executor(kind="local")


def test_run_once_reports_paused_and_skipped_members_and_runs_none_of_them(
    tmp_path: Path,
) -> None:
    from engine.fleet.runonce import run_fleet_once
    from engine.fleet.state import FleetPaths, pause, resume

    make_repo(tmp_path / "alpha")
    make_repo(tmp_path / "beta")
    path = fleet_file(
        tmp_path,
        """\
        version: 1
        repos:
          - {path: ../alpha, paused: true}
          - path: ../beta
          - path: ../gone
        """,
    )
    fleet = load_fleet(path)
    paths = FleetPaths(fleet.state_dir)
    pause(paths, "beta")
    run = run_fleet_once(fleet, resolve_members(fleet))
    assert [(r.name, r.outcome, r.message) for r in run.runs] == [
        ("alpha", "paused", "paused in the fleet file"),
        ("beta", "paused", "paused (`ratchet fleet resume beta`)"),
        ("gone", "skipped", run.runs[2].message),
    ]
    assert run.runs[2].message.startswith(f"{path}:5:11: repos[2].path: '../gone'")
    assert run.exit_code == 4  # the skipped member
    resume(paths, "beta")
    pause(paths)  # the whole fleet
    whole = run_fleet_once(fleet, resolve_members(fleet)[:2])
    assert [r.message for r in whole.runs] == ["the fleet is paused (`ratchet fleet resume`)"] * 2
    assert whole.exit_code == 0 and not (paths.state / "logs").exists()
