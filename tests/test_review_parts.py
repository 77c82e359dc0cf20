"""The review loop's pure parts, as tables: the cause line, the duplicate check, the log
view (filters, collapse, the truth about review entries), JUnit error lines, and the
systemd unit's documentation links."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.daemon.service import documentation_links, render_unit
from engine.gate.evaluation.probes.junit import read_junit
from engine.records.cause import cause
from engine.records.decisions import blocked, reverted_commit
from engine.records.logview import collapse, format_entry, select, settle

TESTS_PASS = {
    "id": "tests-pass",
    "passed": False,
    "on_fail": "reject",
    "detail": "tests-pass: candidate.tests.failed=0, candidate.tests.errors=1 (required: ...)",
}
COVERAGE = {
    "id": "coverage-ratchet",
    "passed": False,
    "on_fail": "reject",
    "detail": "coverage-ratchet: candidate.coverage.percent=79.9 vs "
    "baseline.coverage.percent=81.2 (required: ...)",
}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {
                "rules": [TESTS_PASS],
                "candidate": {
                    "tests": {
                        "errors": 1,
                        "first_failure": "tests/test_geo.py: ImportError: cannot import "
                        "name 'area' from 'geo'",
                    }
                },
            },
            "tests failed: tests/test_geo.py: ImportError: cannot import name 'area' from 'geo'",
        ),
        (
            {"rules": [TESTS_PASS], "candidate": {"tests": {"failed": 3, "failures": ["t::a"]}}},
            "tests failed: t::a (+2 more)",
        ),
        (
            {
                "rules": [COVERAGE],
                "baseline": {"coverage": {"percent": 81.2}},
                "candidate": {"coverage": {"percent": 79.9}},
            },
            "coverage-ratchet: coverage % 81.20 → 79.90",
        ),
        (
            {
                "rules": [
                    COVERAGE,
                    {"id": "guard-deleted-tests", "passed": False, "detail": "t.py::x removed"},
                ],
                "candidate": {"tests": {"failed": 1}},
            },
            "guard-deleted-tests: t.py::x removed",
        ),
        (
            {
                "rules": [
                    TESTS_PASS,
                    {"id": "guard-tests-fewer", "passed": False, "detail": "collected 7 -> 1"},
                ],
                "candidate": {"tests": {"errors": 1, "first_failure": "t.py: ImportError: x"}},
            },
            "tests failed: t.py: ImportError: x",
        ),
        (
            {"rules": [{"id": "r", "passed": False, "detail": "r: error: no such key: cost"}]},
            "r: error: no such key: cost",
        ),
        (
            {"rules": [TESTS_PASS], "human": {"action": "rejected", "reason": "too clever"}},
            "rejected by a human: too clever",
        ),
        ({"rules": [{"id": "x", "passed": True, "detail": "x: ok"}]}, ""),
        # the first failing test fails on the baseline too (its file was touched, so it
        # was not quarantined): the cause is the first failure the candidate brought
        # (python-dateutil 4.0.0 named its version test, broken on the target already)
        (
            {
                "rules": [TESTS_PASS],
                "baseline": {"tests": {"failed": 1, "failures": ["t.py::old"]}},
                "candidate": {
                    "tests": {
                        "failed": 3,
                        "failures": ["t.py::old", "t.py::new", "u.py::other"],
                        "first_failure": "t.py::old: AssertionError: assert 'unknown' == '2.9'",
                    }
                },
            },
            "tests failed: t.py::new (+2 more; 1 fails on the baseline too: t.py::old: "
            "AssertionError: assert 'unknown' == '2.9')",
        ),
        # all of them fail on the baseline too: the first one's error line, as before
        (
            {
                "rules": [TESTS_PASS],
                "baseline": {"tests": {"failures": ["t.py::old"]}},
                "candidate": {
                    "tests": {
                        "failed": 1,
                        "failures": ["t.py::old"],
                        "first_failure": "t.py::old: E",
                    }
                },
            },
            "tests failed: t.py::old: E",
        ),
    ],
)
def test_cause_names_the_real_reason(entry: dict[str, Any], expected: str) -> None:
    assert cause(entry) == expected


NEW, OLD = "rules-new", "rules-old"


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], None),
        (
            [{"fingerprint": "f", "outcome": "rejected", "rules_fingerprint": NEW}],
            "rejected before",
        ),
        ([{"fingerprint": "f", "outcome": "rejected", "rules_fingerprint": OLD}], None),
        ([{"fingerprint": "f", "outcome": "rejected"}], "rejected before"),  # pre-fingerprint
        ([{"fingerprint": "f", "outcome": "merged", "rules_fingerprint": NEW}], None),
        ([{"fingerprint": "g", "outcome": "rejected", "rules_fingerprint": NEW}], None),
        (
            [
                {
                    "fingerprint": "f",
                    "outcome": "rejected",
                    "rules_fingerprint": OLD,
                    "human": {"action": "rejected", "reason": "no"},
                }
            ],
            "a human rejected",
        ),  # fmt: skip
        (
            [{"fingerprint": "f", "outcome": "reverted", "human": {"action": "reverted"}}],
            "a human reverted",
        ),
    ],
)
def test_duplicate_check_keys_on_the_diff_and_the_rules(
    history: list[dict[str, Any]], expected: str | None
) -> None:
    found = blocked("f", NEW, history)
    assert (found is None) if expected is None else (found is not None and expected in found)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('Revert "x"\n\nThis reverts commit abc1234def.\n', "abc1234def"),
        (
            "Revert\n\nbody\n\nRatchet-Reverts: 0123456789abcdef\nRatchet-Goal: g\n",
            "0123456789abcdef",
        ),
        ("Fix a bug\n\nNo revert here.\n", None),
    ],
)
def test_reverted_commit_is_read_from_either_form(message: str, expected: str | None) -> None:
    assert reverted_commit(message) == expected


def test_log_collapses_repeated_nothing_to_do_and_filters() -> None:
    idle = {"goal": "g", "outcome": "nothing-to-do", "message": "goal met"}
    entries = [
        {**idle, "started": "2026-12-01T10:00:00+00:00"},
        {**idle, "started": "2026-12-01T11:00:00+00:00"},
        {**idle, "started": "2026-12-01T12:00:00+00:00"},
        {"goal": "h", "outcome": "merged", "started": "2026-12-01T13:00:00+00:00"},
    ]
    shown = collapse(entries)
    assert len(shown) == 2 and shown[0]["repeated"] == 3
    assert "NOTHING-TO-DO ×3" in format_entry(shown[0])
    assert "2026-12-01T10:00:00+00:00 .. 2026-12-01T12:00:00+00:00" in format_entry(shown[0])
    assert [e["goal"] for e in select(entries, goal="h")] == ["h"]
    assert len(select(entries, outcome="nothing-to-do", limit=2)) == 2
    since = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    assert [e["outcome"] for e in select(entries, since=since)] == ["nothing-to-do", "merged"]


def test_log_tells_what_became_of_review_candidates() -> None:
    entries = [
        {"outcome": "review", "commit": "a" * 40, "branch": "ratchet/g/1"},
        {"outcome": "review", "commit": "b" * 40, "branch": "ratchet/g/2"},
        {"outcome": "review", "commit": "c" * 40, "branch": "ratchet/g/3"},
    ]
    out = settle(entries, branch_tip={"ratchet/g/3": "c" * 40}, merged=["a" * 40])
    assert [e["outcome"] for e in out] == ["merged", "review-deleted", "review"]
    text = format_entry({"outcome": "merged", "commit": None, "branch": None, "goal": None})
    assert "None" not in text


def test_junit_error_line_is_the_first_E_line_or_the_message(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_geo.py").write_text("")
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<testsuites><testsuite><testcase classname="" name="tests.test_geo">'
        '<error message="collection failure">tests/test_geo.py:1: in &lt;module&gt;\n'
        "    from geo import area\n"
        f"E   ImportError: cannot import name 'area' from 'geo' ({tmp_path}/geo.py)</error>"
        "</testcase>"
        '<testcase classname="tests.test_geo" name="test_b">'
        '<failure message="assert 1 == 2">trace</failure></testcase>'
        "</testsuite></testsuites>"
    )
    summary = read_junit(xml, tmp_path)
    assert summary is not None
    assert summary.causes == (
        ("tests/test_geo.py", "ImportError: cannot import name 'area' from 'geo' (geo.py)"),
        ("tests/test_geo.py::test_b", "assert 1 == 2"),
    )


def test_the_units_documentation_links_resolve(tmp_path: Path) -> None:
    links = documentation_links()
    assert links, "a source checkout ships docs/daemon.md"
    for link in links:
        assert Path(link.removeprefix("file://")).is_file(), link
    text = render_unit(tmp_path, ("ratchet",), {})
    documented = [line for line in text.splitlines() if line.startswith("Documentation=")]
    assert documented == [f"Documentation={link}" for link in links]
    assert str(tmp_path / "docs") not in text  # never a path into the target repository
