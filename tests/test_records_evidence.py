"""Records that respect the user's history: the abridged snapshot, the full evidence as a
git note (written by compare-and-swap, never through the user's index), its readers, the
per-step timer and the progress display. Real git repositories; no cycle runs here (the
end-to-end checks are in test_cycle_e2e and test_progress_e2e)."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.cli.progress import CycleProgress, cycle_progress
from engine.gate.timing import StepTimer, current_totals, observe_output, recording, step
from engine.model import CycleReport, Metrics, RuleOutcome, TestMetrics
from engine.model.metrics import CoverageMetrics
from engine.records.evidence import complete_history, evidence_for, with_evidence
from engine.records.render import abridge, full_record, snapshot_json
from engine.vcs import Repository
from engine.vcs.git import Git, GitResult
from engine.vcs.notes import noted_commits, read_note, read_notes, write_note
from tests.repo_helpers import git, make_repo

# ------------------------------------------------------------------ the timer


def test_steps_nest_accumulate_and_report_in_start_order() -> None:
    ticks = iter(range(100))
    started: list[str] = []
    timer = StepTimer(on_start=started.append, clock=lambda: float(next(ticks)))
    with recording(timer):
        with step("baseline"), step("tests"):
            pass
        with step("tests"):
            pass
        with step("tests"):
            pass
        assert current_totals() == timer.totals()
    assert started == ["baseline", "baseline.tests", "tests", "tests"]
    assert timer.totals() == {"baseline": 3.0, "baseline.tests": 1.0, "tests": 2.0}
    with step("outside"):  # no current timer: nothing recorded, nothing raised
        pass
    assert current_totals() == {}


def test_a_listener_that_raises_never_fails_a_step_and_time_is_never_negative() -> None:
    readings = iter([5.0, 2.0])

    def boom(key: str) -> None:
        raise RuntimeError(key)

    timer = StepTimer(on_start=boom, clock=lambda: next(readings))
    with recording(timer), step("patch"):
        pass
    assert timer.totals() == {"patch": 0.0}


def test_progress_marks_in_a_steps_output_are_reported_once_each() -> None:
    seen: list[tuple[str, str]] = []
    timer = StepTimer(on_progress=lambda key, done: seen.append((key, done)))
    with recording(timer), step("tests"):
        observe_output(b"....                [ 40%]\n..")
        observe_output(b"..                  [ 40%]\n")
        observe_output(b"[ 99%] in the middle of a line is not a mark ")
        observe_output(b"...    [100%]\n5 passed in 0.1s\n")
    assert seen == [("tests", "40%"), ("tests", "100%")]


def test_a_worker_thread_reports_in_a_copied_context() -> None:
    import contextvars

    timer = StepTimer()
    with recording(timer), step("baseline"):
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(_timed_lint,))
        worker.start()
        worker.join()
    assert set(timer.totals()) == {"baseline", "baseline.lint"}


def _timed_lint() -> None:
    with step("lint"):
        pass


# ------------------------------------------------------------------ the records


def _report(**over: object) -> CycleReport:
    side = Metrics(
        commit="c" * 40,
        tests=TestMetrics(passed=400, failed=1, output_tail="x\n" * 300, failures=("t::a",)),
        coverage=CoverageMetrics(percent=81.5, files={f"pkg/m{i}.py": 80.0 for i in range(200)}),
    )
    rules = tuple(
        RuleOutcome(id=f"rule-{i}", passed=i != 3, detail=f"rule-{i}: candidate.tests.failed=1")
        for i in range(40)
    )
    fields: dict[str, object] = {
        "cycle_id": "20260101T000000Z-g-1",
        "goal": "g",
        "outcome": "rejected",
        "rules": rules,
        "baseline": side,
        "candidate": side,
        "timings": {"baseline": 1.5, "tests": 0.25},
    }
    fields.update(over)
    return CycleReport(**fields)  # type: ignore[arg-type]


def test_the_snapshot_is_tens_of_lines_and_the_full_record_keeps_everything() -> None:
    report = _report()
    text = snapshot_json(report)
    snapshot = json.loads(text)
    full = full_record(report)
    assert len(text.splitlines()) < 50, text
    assert len(json.dumps(full, indent=2).splitlines()) > 500  # what the tree no longer gets
    assert snapshot["candidate"]["tests"] == {
        "errors": 0,
        "failed": 1,
        "passed": 400,
        "timed_out": False,
        "stage": "full",  # which cascade stage the counts come from
    }
    assert snapshot["candidate"]["coverage"] == {"percent": 81.5}
    assert [r["id"] for r in snapshot["rules"]] == ["rule-3"]  # failed (or n/a) only
    assert len(snapshot["rules_passed"]) == 39
    assert snapshot["cause"] == full["cause"] != ""
    assert snapshot["timings"] == {"baseline": 1.5, "tests": 0.25}
    assert snapshot["evidence"] == "refs/notes/ratchet"
    assert len(full["candidate"]["coverage"]["files"]) == 200
    assert full["rules"][3]["detail"] == "rule-3: candidate.tests.failed=1"


def test_with_evidence_takes_metrics_from_the_note_and_decisions_from_the_snapshot() -> None:
    full = full_record(_report())
    snapshot = {**abridge(full), "outcome": "rejected", "human": {"action": "rejected"}}
    merged = with_evidence(snapshot, full)
    assert merged["candidate"] == full["candidate"] and merged["rules"] == full["rules"]
    assert merged["human"] == {"action": "rejected"} and "evidence" not in merged
    assert with_evidence(snapshot, None) == snapshot


# ------------------------------------------------------------------ the notes


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository.open(make_repo(tmp_path / "repo"))


def _user_state(repo: Repository) -> tuple[str, bytes, str]:
    index = (repo.root / ".git" / "index").read_bytes()
    return git(repo.root, "rev-parse", "HEAD"), index, git(repo.root, "status", "--porcelain")


def test_notes_round_trip_replace_and_never_touch_the_users_index(repo: Repository) -> None:
    (repo.root / "wip.txt").write_text("uncommitted\n")
    before = _user_state(repo)
    head = git(repo.root, "rev-parse", "HEAD")
    assert read_note(repo, head) is None and evidence_for(repo, head) is None
    write_note(repo, head, '{"a": 1}\n')
    first = git(repo.root, "rev-parse", "refs/notes/ratchet")
    write_note(repo, head, '{"a": 2}\n')
    assert evidence_for(repo, head) == {"a": 2}
    assert git(repo.root, "rev-parse", "refs/notes/ratchet^") == first  # history kept
    assert git(repo.root, "notes", "--ref", "ratchet", "show", head) == '{"a": 2}'
    assert _user_state(repo) == before
    assert not list(repo.state_dir.glob("notes-index-*"))  # the private index is removed


def test_a_note_git_notes_wrote_is_replaced_and_others_are_kept(repo: Repository) -> None:
    head = git(repo.root, "rev-parse", "HEAD")
    git(repo.root, "commit", "-q", "--allow-empty", "-m", "second")
    second = git(repo.root, "rev-parse", "HEAD")
    git(repo.root, "notes", "--ref", "ratchet", "add", "-m", "by hand", head)
    write_note(repo, second, "mine\n")
    write_note(repo, head, "not json\n")
    assert read_note(repo, head) == "not json\n" and evidence_for(repo, head) is None
    assert set(noted_commits(repo)) == {head, second}
    assert git(repo.root, "notes", "--ref", "ratchet", "list").count("\n") == 1  # two notes
    assert repo.fsck(full=True)


def test_complete_history_fills_abridged_entries_from_notes_and_degrades_without(
    repo: Repository,
) -> None:
    head = git(repo.root, "rev-parse", "HEAD")
    full = {**full_record(_report()), "commit": head}
    short = abridge(full)
    assert complete_history(repo, [short]) == [short]  # no notes (a fresh clone): as it is
    write_note(repo, head, json.dumps(full))
    (completed,) = complete_history(repo, [short])
    assert completed["rules"] == full["rules"]
    assert completed["candidate"]["tests"]["output_tail"]
    journal_entry = {**full, "cycle_id": "other"}  # a journal entry is complete already
    assert complete_history(repo, [journal_entry]) == [journal_entry]


class _CountingGit(Git):
    """Real git that counts the processes started by their subcommand."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[str] = []

    def call(self, *args: str, **kwargs: Any) -> GitResult:
        self.started.append(next(a for a in args if not a.startswith("-")))
        return super().call(*args, **kwargs)


def test_complete_history_reads_every_note_in_one_git_process(repo: Repository) -> None:
    shas = []
    for i in range(5):
        git(repo.root, "commit", "-q", "--allow-empty", "-m", f"cycle {i}")
        shas.append(git(repo.root, "rev-parse", "HEAD"))
    fulls = [
        {**full_record(_report(cycle_id=f"c{i}")), "commit": sha} for i, sha in enumerate(shas)
    ]
    for full in fulls[:4]:  # the last has no note
        write_note(repo, full["commit"], json.dumps(full))
    counting = _CountingGit()
    history = complete_history(Repository(repo.root, git=counting), [abridge(f) for f in fulls])
    completed = [e["rules"] == f["rules"] for e, f in zip(history, fulls, strict=True)]
    assert completed == [True, True, True, True, False]
    assert "evidence" in history[4] and "evidence" not in history[0]
    # `notes list`, then one `log` for the trailers and one for every note (no `notes show`)
    assert counting.started.count("notes") == 1, counting.started
    assert counting.started.count("log") == 2, counting.started


def test_read_notes_batches_and_falls_back_one_by_one_for_a_missing_commit(
    repo: Repository,
) -> None:
    head = git(repo.root, "rev-parse", "HEAD")
    git(repo.root, "commit", "-q", "--allow-empty", "-m", "second")
    second = git(repo.root, "rev-parse", "HEAD")
    write_note(repo, head, '{"a": 1}')  # no final newline: the batch adds one
    write_note(repo, second, "second\n")
    assert read_notes(repo, [second, head, second]) == {head: '{"a": 1}\n', second: "second\n"}
    missing = "1" * 40  # not a commit here: git refuses the batch, each is read alone
    assert read_notes(repo, [missing, head]) == {head: '{"a": 1}'}
    assert read_notes(repo, []) == {}


# ------------------------------------------------------------------ the progress display


def test_plain_progress_is_one_line_per_step_without_progress_updates() -> None:
    out = io.StringIO()
    ticks = iter([0.0, 0.0, 1.25, 2.5, 3.0])  # made, entered, then one reading per line
    with CycleProgress(out, live=False, clock=lambda: next(ticks)) as progress:
        progress("g", "baseline")
        progress("g", "baseline.tests")
        progress("g", "baseline.tests 50%")
        progress("g", "tests")
    assert out.getvalue().splitlines() == [
        "ratchet: [g] baseline (+1.2s)",
        "ratchet: [g] baseline.tests (+2.5s)",
        "ratchet: [g] tests (+3.0s)",
    ]


def test_live_progress_redraws_one_line_and_erases_it() -> None:
    out = io.StringIO()
    with CycleProgress(out, live=True) as progress:
        progress("g", "tests")
        progress("g", "tests 45%")
    text = out.getvalue()
    assert "\n" not in text and text.startswith("\r")
    assert "ratchet: [g] tests 45%" in text
    assert text.endswith("\r") and text.rstrip("\r").endswith(" ")  # erased at the end


def test_quiet_prints_nothing_and_a_pipe_is_not_live() -> None:
    out = io.StringIO()
    with cycle_progress(quiet=True, stream=out) as progress:
        progress("g", "tests")
    assert out.getvalue() == ""
    chosen = cycle_progress(quiet=False, stream=out)
    assert isinstance(chosen, CycleProgress) and not chosen.live


def test_recovery_removes_the_private_index_of_a_note_write_killed_midway(
    repo: Repository,
) -> None:
    from engine.compose import recover
    from engine.config import load_config
    from engine.records.layout import notes_index_file

    stale = notes_index_file(repo.state_dir, "dead")
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"DIRC")
    recover(repo, load_config(repo.root))
    assert not stale.exists()
