"""``directives.push`` on real repositories and a local bare remote, without cycles: review
branches made as ratchet makes them (bot commits with ``Ratchet-*`` trailers), a stand-in
``gh`` on PATH that records its arguments, the cap on open review branches, a branch a human
pushed to left alone, and an unreachable remote recorded, not raised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.model import Directives, Push
from engine.push.github import GhCli
from engine.push.pusher import load_state, push_after_cycle, record_failure
from engine.vcs import Repository
from tests.gh_standin import install_gh
from tests.git_testing import BOT_ENV, HUMAN_ENV, user_git
from tests.repo_helpers import make_repo, ratchet, write


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return user_git(cwd, *args, env=env).strip()


def _candidate(repo: Path, n: int, date: str) -> str:
    """A review branch ratchet/simplify/<n> as a cycle leaves it (one bot commit)."""
    _git(repo, "checkout", "-q", "-b", f"ratchet/simplify/{n}", "main")
    write(repo / f"f{n}.py", f"X = {n}\n")
    _git(repo, "add", "-A")
    message = (
        f"ratchet: change {n}\n\nBecause {n} is better.\n\nratchet: kept for review\n\n"
        f"Ratchet-Goal: simplify\nRatchet-Cycle: c{n}\nRatchet-Decision: review\n"
    )
    env = {**BOT_ENV, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
    _git(repo, "commit", "-q", "-m", message, env=env)
    _git(repo, "checkout", "-q", "main")
    return _git(repo, "rev-parse", f"ratchet/simplify/{n}")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(remote))
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    write(repo / "README", "hello\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "start", env=HUMAN_ENV)
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    monkeypatch.setenv("PATH", install_gh(tmp_path / "bin", tmp_path / "gh.log"))
    return {"repo": repo, "remote": remote, "tmp": tmp_path, "log": tmp_path / "gh.log"}


def _push(repo: Path, **push: str) -> object:
    directives = Directives(push=Push(remote="origin", **push), max_review_branches=2)  # type: ignore[arg-type]
    return push_after_cycle(
        Repository.open(repo), directives, "main", at="2026-12-02T10:00:00+00:00",
        gh=GhCli(repo),
    )  # fmt: skip


def test_review_branches_prs_cap_and_a_human_branch_left_alone(world: dict[str, Path]) -> None:
    repo, remote, log = world["repo"], world["remote"], world["log"]
    tips = {n: _candidate(repo, n, f"2026-12-0{n}T10:00:00+00:00") for n in (1, 2, 3)}

    first = _push(repo, branches="review")
    assert first is not None and first.ok, first
    # the cap (2): the two newest are pushed, each with a draft PR
    heads = _git(remote, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
    assert f"refs/heads/ratchet/simplify/3 {tips[3]}" in heads
    assert f"refs/heads/ratchet/simplify/2 {tips[2]}" in heads
    assert "ratchet/simplify/1" not in heads
    calls = log.read_text().splitlines()
    creates = [c for c in calls if c.startswith("pr create")]
    assert len(creates) == 2 and all("--draft" in c and "--base main" in c for c in creates)
    assert "--head ratchet/simplify/3" in creates[1] and "--title ratchet: change 3" in creates[1]
    body = (repo / ".ratchet" / "pr" / "simplify-3.md").read_text()
    assert "Because 3 is better." in body and "ratchet review accept simplify/3" in body
    assert "merge: review (directives.yaml)" in body  # why a human is asked

    # a human pushes to ratchet/simplify/3 on the remote; locally, simplify/2 is decided
    clone = world["tmp"] / "human"
    _git(world["tmp"], "clone", "-q", str(remote), str(clone))
    _git(clone, "checkout", "-q", "ratchet/simplify/3")
    write(clone / "mine.txt", "human work\n")
    _git(clone, "add", "-A")
    _git(clone, "commit", "-q", "-m", "human fixup", env=HUMAN_ENV)
    _git(clone, "push", "-q", "origin", "ratchet/simplify/3")
    human_tip = _git(clone, "rev-parse", "HEAD")
    _git(repo, "branch", "-q", "-D", "ratchet/simplify/2")

    second = _push(repo, branches="review")
    assert second is not None and second.ok, second
    assert second.left_alone == ("ratchet/simplify/3",)
    assert second.deleted == ("refs/heads/ratchet/simplify/2",)
    heads = _git(remote, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
    assert f"refs/heads/ratchet/simplify/3 {human_tip}" in heads  # never rewritten
    assert f"refs/heads/ratchet/simplify/1 {tips[1]}" in heads  # now within the cap
    assert "ratchet/simplify/2" not in heads
    calls = log.read_text().splitlines()
    assert any(c.startswith("pr close ratchet/simplify/2 --comment decided") for c in calls)
    assert sum(c.startswith("pr create") for c in calls) == 3
    state = load_state(repo / ".ratchet")
    assert state["last"]["ok"] and "refs/heads/ratchet/simplify/2" not in state["remotes"]["origin"]


def test_merged_all_and_notes_then_an_unreachable_remote_is_recorded(
    world: dict[str, Path],
) -> None:
    repo, remote = world["repo"], world["remote"]
    tip = _candidate(repo, 1, "2026-12-01T10:00:00+00:00")
    _git(repo, "update-ref", "refs/ratchet/rejected/simplify/1", tip)
    _git(repo, "merge", "-q", "--ff-only", "ratchet/simplify/1")
    _git(repo, "branch", "-q", "-D", "ratchet/simplify/1")
    _git(repo, "notes", "--ref=ratchet", "add", "-m", '{"evidence": 1}', tip, env=BOT_ENV)

    done = _push(repo, branches="all", pull_requests="off")
    assert done is not None and done.ok, done
    assert _git(remote, "rev-parse", "main") == tip
    assert _git(remote, "rev-parse", "refs/ratchet/rejected/simplify/1") == tip
    assert _git(remote, "notes", "--ref=ratchet", "show", tip) == '{"evidence": 1}'
    assert not world["log"].exists()  # pull_requests: off

    _git(repo, "remote", "set-url", "origin", str(world["tmp"] / "gone.git"))
    failed = _push(repo, branches="all")
    assert failed is not None and not failed.ok and "cannot reach" in failed.errors[0]
    assert load_state(repo / ".ratchet")["last"]["ok"] is False
    record_failure(repo / ".ratchet", failed, cycle_id="c9", goal="simplify")
    shown = ratchet("log", "--repo", str(repo), "--outcome", "push-failed")
    assert shown.code == 0 and "PUSH-FAILED  push to origin" in shown.stdout, shown.stdout
    assert "cannot reach" in shown.stdout
    status = ratchet("status", "--repo", str(repo))
    assert "push:          FAILED: 0 ref(s) to origin" in status.stdout, status.stdout
    assert "push-failed" in status.stdout  # among the last outcomes
    entry = json.loads((repo / ".ratchet" / "journal.jsonl").read_text().splitlines()[-1])
    assert entry["outcome"] == "push-failed" and entry["goal"] == "simplify"


def test_check_warns_about_a_push_remote_the_repository_lacks(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", directives={"push": {"remote": "upstream"}})
    run = ratchet("check", "--repo", str(repo))
    assert run.code == 0, run.stderr
    assert "warning: push.remote: no remote 'upstream' in this repository" in run.stderr
    assert "`git remote add upstream URL`" in run.stderr
    _git(repo, "remote", "add", "upstream", str(tmp_path / "up.git"))
    assert "push.remote" not in ratchet("check", "--repo", str(repo)).stderr
