"""Records: the one ``.ratchet/`` layout, the journal and its typed entries (old journals
still load), the pending queue, ``ratchet log``'s history and the lessons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.daemon.paths import StatePaths
from engine.model import CycleReport, RuleOutcome
from engine.model.journal import JournalEntry, PendingMerge, RuleRecord
from engine.records import journal, layout
from engine.records.history import format_entry, merge_history
from engine.records.lessons import read_lessons
from engine.records.pending import add_pending, read_pending, write_pending


@pytest.mark.parametrize(
    ("name", "rel"),
    [
        ("journal", "journal.jsonl"),
        ("pending", "pending.json"),
        ("cycle_lock", "cycle.lock"),
        ("worktrees", "worktrees"),
        ("baseline_cache", "cache/baseline"),
        ("progress", "cycle-progress.json"),
        ("lock", "daemon.lock"),
        ("status", "daemon.json"),
        ("paused", "control/paused"),
        ("pin", "control/pin"),
        ("runtime", "runtime"),
        ("canary", "canary"),
    ],
)
def test_the_layout_names_every_path_under_the_state_dir(
    tmp_path: Path, name: str, rel: str
) -> None:
    paths = layout.Layout(tmp_path)
    assert getattr(paths, name) == tmp_path / ".ratchet" / rel
    assert not (tmp_path / ".ratchet").exists()  # pure: nothing is created


def test_the_daemon_and_the_providers_use_the_same_layout(tmp_path: Path) -> None:
    state = tmp_path / ".ratchet"
    assert StatePaths is layout.Layout
    assert layout.llm_cache_dir(state) == state / "cache" / "llm"
    assert layout.spend_dir(state) == state / "spend"
    assert layout.breaker_dir(state) == state / "breaker"
    assert layout.Layout.for_repo(tmp_path / ".").repo == tmp_path.resolve()
    assert layout.EXCLUDE_LINE == "/.ratchet/" and layout.EXCLUDE_LINE in layout.EXCLUDE_FORMS


def report(cycle_id: str, outcome: str = "rejected", **over: object) -> CycleReport:
    fields: dict[str, object] = {
        "cycle_id": cycle_id,
        "goal": "g",
        "outcome": outcome,
        "summary": "try",
        "started": f"2026-01-01T00:00:0{cycle_id[-1]}+00:00",
        "rules": (RuleOutcome(id="lint-ratchet", passed=False, detail="lint 3 -> 4"),),
        "fingerprint": f"fp-{cycle_id}",
    }
    fields.update(over)
    return CycleReport(**fields)  # type: ignore[arg-type]


def test_the_journal_round_trips_reports_as_typed_entries(tmp_path: Path) -> None:
    journal.append(tmp_path, report("c1"))
    journal.append(tmp_path, report("c2", "merged", rules=()))
    entries = journal.read_journal(tmp_path)
    assert [(e.cycle_id, e.outcome) for e in entries] == [("c1", "rejected"), ("c2", "merged")]
    first = entries[0]
    assert first.rules == (RuleRecord(id="lint-ratchet", passed=False, detail="lint 3 -> 4"),)
    assert first.failed_rules == first.rules and first.fingerprint == "fp-c1"
    assert first.to_json()["cycle_id"] == "c1"  # the JSON as recorded, for --json


def test_a_torn_line_and_non_objects_are_skipped_the_rest_kept(tmp_path: Path) -> None:
    journal.append(tmp_path, report("c1"))
    with layout.journal_file(tmp_path).open("a", encoding="utf-8") as fh:
        fh.write("[1, 2]\n")
        fh.write('{"cycle_id": "c2", "outc')
    assert [e.cycle_id for e in journal.read_journal(tmp_path)] == ["c1"]


OLD_LINE = {
    # A journal line of an older version: no fingerprint, attempt, usage or applicable.
    "cycle_id": "20250101T000000Z-g-1-0001",
    "goal": "g",
    "outcome": "rejected",
    "rules": [{"id": "tests-pass", "passed": False, "detail": "1 failed"}],
    "delta": {"tests.failed": 1},
    "started": "2025-01-01T00:00:00+00:00",
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (OLD_LINE, {"attempt": 0, "fingerprint": "", "tokens_in": 0, "roi": None}),
        ({**OLD_LINE, "roi": "high", "attempt": "2"}, {"roi": None, "attempt": 0}),
        ({**OLD_LINE, "usage": {"tokens_in": 5, "cost_usd": 0.5}}, {"tokens_in": 5}),
        ({**OLD_LINE, "rules": [{"detail": "no id"}, "x"]}, {"rules": ()}),
        ({**OLD_LINE, "delta": {"a": "b", "c": 2}}, {"delta": (("c", 2.0),)}),
        ({"cycle_id": "x", "branch": "", "goal": None}, {"branch": None, "goal": None}),
    ],
)
def test_old_and_odd_entries_load_with_defaults(
    data: dict[str, object], expected: dict[str, object]
) -> None:
    entry = JournalEntry.from_json(data)
    for key, value in expected.items():
        assert getattr(entry, key) == value, key


def test_an_old_journal_file_loads(tmp_path: Path) -> None:
    layout.journal_file(tmp_path).write_text(json.dumps(OLD_LINE) + "\n", encoding="utf-8")
    (entry,) = journal.read_journal(tmp_path)
    assert entry.failed_rules[0].id == "tests-pass" and entry.delta == (("tests.failed", 1.0),)


def test_history_keeps_one_entry_per_cycle_the_journal_winning() -> None:
    old = JournalEntry.from_json({"cycle_id": "a", "outcome": "review", "started": "2"})
    new = JournalEntry.from_json({"cycle_id": "a", "outcome": "merged", "started": "2"})
    other = JournalEntry.from_json({"cycle_id": "b", "outcome": "rejected", "started": "1"})
    merged = merge_history([new], [old, other])
    assert [(e.cycle_id, e.outcome) for e in merged] == [("b", "rejected"), ("a", "merged")]


def test_format_entry_shows_outcome_failures_deltas_and_cost() -> None:
    entry = JournalEntry.from_json(
        {
            **OLD_LINE,
            "summary": "Flatten",
            "message": "rejected by the rules: tests-pass",
            "branch": "ratchet/g/1",
            "commit": "abcdef1234567890",
            "rejected_ref": "refs/ratchet/rejected/g/1",
            "usage": {"tokens_in": 10, "tokens_out": 2, "cost_usd": 0.01},
        }
    )
    assert format_entry(entry).splitlines() == [
        "20250101T000000Z-g-1-0001  g  REJECTED  Flatten",
        "    rejected by the rules: tests-pass",
        "    branch: ratchet/g/1  commit: abcdef123456  kept at refs/ratchet/rejected/g/1",
        "    deltas: tests.failed +1",
        "    failed tests-pass: 1 failed",
        "    tokens: 10+2  cost: $0.0100",
    ]


def pending(branch: str, evaluated: str = "e" * 40) -> PendingMerge:
    return PendingMerge(
        goal="g",
        branch=branch,
        commit="c" * 40,
        target="main",
        target_before="b" * 40,
        cycle_id="cid",
        evaluated=evaluated,
    )


def test_the_pending_queue_round_trips_and_replaces_by_branch(tmp_path: Path) -> None:
    add_pending(tmp_path, pending("ratchet/g/1"))
    add_pending(tmp_path, pending("ratchet/g/2"))
    add_pending(tmp_path, pending("ratchet/g/1", evaluated="f" * 40))
    assert read_pending(tmp_path) == [pending("ratchet/g/2"), pending("ratchet/g/1", "f" * 40)]
    write_pending(tmp_path, [])
    assert read_pending(tmp_path) == []


def test_an_old_pending_queue_loads_without_an_evaluated_commit(tmp_path: Path) -> None:
    old = {k: v for k, v in pending("ratchet/g/1").__dict__.items() if k != "evaluated"}
    layout.pending_file(tmp_path).write_text(
        json.dumps([old, {"branch": "missing keys"}, 3]), encoding="utf-8"
    )
    assert read_pending(tmp_path) == [pending("ratchet/g/1", evaluated="")]
    layout.pending_file(tmp_path).write_text("{not json", encoding="utf-8")
    assert read_pending(tmp_path) == []


def test_lessons_are_the_bullets_of_the_lessons_file(tmp_path: Path) -> None:
    assert read_lessons(tmp_path) == ()
    path = tmp_path / "memory-bank" / "lessons.md"
    path.parent.mkdir()
    path.write_text("# Lessons\n- keep it small\ntext\n- " + "\n- ".join(map(str, range(30))))
    lessons = read_lessons(tmp_path)
    assert lessons[0] == "keep it small" and len(lessons) == 20


def test_the_snapshots_in_git_follow_every_move_of_the_heads(tmp_path: Path) -> None:
    # the read is kept per set of head commits: a new branch, a moved one and a deleted one
    # must each show at once
    from engine.records.history import snapshots_in_git
    from engine.vcs import Repository
    from tests.git_testing import git, write

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "commit", "-q", "--allow-empty", "-m", "start")

    def branch(n: int, outcome: str) -> None:
        git(root, "checkout", "-q", "-B", f"ratchet/g/{n}", "main")
        snap = {"cycle_id": f"c{n}", "goal": "g", "outcome": outcome}
        write(root, {f"snapshots/c{n}.json": json.dumps(snap)})
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"c{n}")
        git(root, "checkout", "-q", "main")

    repo = Repository.open(root)
    seen = lambda: sorted((e.cycle_id, e.outcome) for e in snapshots_in_git(repo))  # noqa: E731
    branch(1, "review")
    assert seen() == [("c1", "review")]
    assert seen() == [("c1", "review")]  # read again: the same
    branch(2, "review")
    assert seen() == [("c1", "review"), ("c2", "review")]
    branch(2, "rejected")  # the same branch moved to another commit
    assert seen() == [("c1", "review"), ("c2", "rejected")]
    git(root, "branch", "-q", "-D", "ratchet/g/1")
    assert seen() == [("c2", "rejected")]
