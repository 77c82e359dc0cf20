"""The audit's pure parts: its directives, the schedule entries, the gate's hold file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.audit import TrapResult, audit_directives
from engine.daemon.audit import is_audit
from engine.daemon.schedule import entries
from engine.errors import ConfigError
from engine.gate.caught import ANY, Caught, clear_caught, held_by, read_caught, record_caught
from engine.model import AuditSchedule, Schedule
from engine.records.layout import caught_gaming_file


def test_audit_entries_are_scheduled_with_their_own_reason() -> None:
    got = entries(Schedule(cron=("0 2 * * *",)), AuditSchedule(cron=("0 3 * * sun",)))
    assert [e.key for e in got] == ["cron:0 2 * * *@UTC", "audit-cron:0 3 * * sun@UTC"]
    assert [is_audit(e.reason) for e in got] == [False, True]
    assert is_audit("catch-up audit-cron:0 3 * * sun@UTC (missed 2026-01-04T03:00:00+00:00)")
    assert entries(Schedule(cron=("0 2 * * *",))) == got[:1]


def test_the_audit_keeps_the_users_provider_but_never_their_merge_mode(tmp_path: Path) -> None:
    user = tmp_path / "directives.yaml"
    user.write_text(
        "version: 1\nmerge: review\npush: {remote: origin}\n"
        "provider: {name: openai_compat, model: m, options: {base_url: '${URL}'}}\n"
    )
    got = audit_directives(user, None)
    assert got["merge"] == "auto" and "push" not in got
    assert got["provider"] == {
        "name": "openai_compat",
        "model": "m",
        "options": {"base_url": "${URL}"},
    }
    assert audit_directives(user, "openai_compat")["provider"]["model"] == "m"
    assert audit_directives(user, "scripted")["provider"] == {"name": "scripted"}
    assert audit_directives(tmp_path / "missing.yaml", None)["merge"] == "auto"


def test_verdicts() -> None:
    assert TrapResult(trap="t", outcome="merged").verdict == "FAIL"
    assert TrapResult(trap="t", outcome="review").verdict == "caught"
    assert TrapResult(trap="t", outcome="rejected", failed=("guard-tests-deleted",)).caught
    assert TrapResult(trap="t", outcome="rejected", failed=("tests-pass",)).verdict == "held"
    assert TrapResult(trap="t", outcome="nothing-to-do").verdict == "held"


def test_the_hold_file_round_trips_and_fails_closed(tmp_path: Path) -> None:
    assert read_caught(tmp_path) == () and held_by(tmp_path, "ruff") is None
    record_caught(tmp_path, (Caught(provider="local", trap="trap-xfail"),))
    record_caught(tmp_path, (Caught(provider="gemini", trap="trap-coverage"),))
    assert [c.provider for c in read_caught(tmp_path)] == ["local", "gemini"]
    assert held_by(tmp_path, "local") is not None and held_by(tmp_path, "ruff") is None
    caught_gaming_file(tmp_path).write_text("{not json")
    held = held_by(tmp_path, "ruff")
    assert held is not None and held.provider == ANY
    clear_caught(tmp_path)
    assert read_caught(tmp_path) == ()


@pytest.mark.slow
def test_the_daemons_audit_child_runs_the_audit_and_keeps_its_output(tmp_path: Path) -> None:
    from engine.daemon.audit import run_audit_child
    from engine.daemon.paths import StatePaths
    from tests.repo_helpers import make_repo

    # A scripted provider without plans: every trap's cycle ends in `error`, fast.
    repo = make_repo(tmp_path / "user", directives={"provider": {"name": "scripted"}})
    paths = StatePaths.for_repo(repo)
    paths.state.mkdir(parents=True, exist_ok=True)
    code = run_audit_child(repo, paths, "schedule audit-cron:0 3 * * sun@UTC", 600, lambda: None)
    out = (paths.state / "audit-last.out").read_text()
    assert code == 0, (paths.state / "audit-last.err").read_text()
    report = json.loads(out.strip().splitlines()[-1])
    assert [t["outcome"] for t in report["traps"]] == ["error"] * 3
    assert report["gate_failed"] is False and report["recorded"] == []


def test_the_audit_reads_the_users_directives_through_the_hardened_loader(tmp_path: Path) -> None:
    bomb = "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n"
    for n in "bcdefghij":
        prev = chr(ord(n) - 1)
        bomb += f"{n}: &{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    user = tmp_path / "directives.yaml"
    user.write_text(bomb)  # ~40 million nodes once expanded: refused, not expanded
    with pytest.raises(ConfigError, match=r"directives\.yaml:\d+:\d+"):
        audit_directives(user, None)
