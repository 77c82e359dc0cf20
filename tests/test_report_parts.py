"""The report's parts without cycles: the summary computed from recorded entries (tables),
the page (escaping, stable hooks, the empty history), the missing-library error, and
``ratchet report --open`` on a real repository with a stand-in browser."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.errors import InputError
from engine.report import charts
from engine.report.data import summarise, timings
from engine.report.page import render_page
from tests.repo_helpers import child_python, make_repo, ratchet, write


def _entry(outcome: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "cycle_id": f"c{n}",
        "goal": extra.pop("goal", "lint"),
        "outcome": outcome,
        "started": f"2026-12-0{n}T10:00:00+00:00",
        "summary": f"change {n}",
        **extra,
    }


MEASURED = {
    "baseline": {"coverage": {"percent": 80.123}, "lint": {"violations": 9}, "seconds": 2.0},
    "candidate": {"coverage": {"percent": 81.0}, "lint": {"violations": 7}, "seconds": 4.0},
    "usage": {"tokens_in": 100, "tokens_out": 20, "cost_usd": 0.01, "seconds": 3.0},
    "roi": 2.5,
}
FAILED = [{"id": "tests-pass", "passed": False}, {"id": "lint-ratchet", "passed": True}]


def test_summary_counts_rates_reasons_steps_and_spend() -> None:
    history = [
        _entry("merged", 1, **MEASURED),
        _entry("rejected", 2, rules=FAILED, **MEASURED),
        _entry("rejected", 3, human={"action": "rejected", "reason": "no"}),
        _entry("nothing-to-do", 4),
        _entry("review", 5, timings={"tests": 1.5, "rules": 0.5}),
        _entry("merged", 6, goal="other"),
        {"cycle_id": "c7", "goal": None, "outcome": "nothing-to-do"},
        _entry("push-failed", 8),
    ]
    lint, other = summarise(history)
    assert (lint.goal, other.goal) == ("lint", "other")
    assert (lint.cycles, lint.proposed, lint.merged) == (5, 4, 1)
    assert lint.acceptance == 0.25 and other.acceptance == 1.0
    assert dict(lint.outcomes) == {"merged": 1, "rejected": 2, "nothing-to-do": 1, "review": 1}
    assert dict(lint.reasons) == {"tests-pass": 1, "human: rejected": 1}
    # older records: provider/baseline/candidate; newer: the recorded steps
    assert dict(lint.steps) == {
        "provider": 3.0,
        "baseline": 2.0,
        "candidate": 4.0,
        "tests": 1.5,
        "rules": 0.5,
    }
    assert (lint.tokens_in, lint.tokens_out, lint.cost_usd) == (200, 40, 0.02)
    assert [p.cycle_id for p in lint.points] == ["c1", "c2"]
    assert lint.points[0].baseline[:3] == (80.12, None, 9.0)
    assert lint.points[0].candidate[:3] == (81.0, None, 7.0) and lint.points[0].roi == 2.5
    assert [r.cycle_id for r in lint.rows] == ["c5", "c3", "c2", "c1"]  # newest first
    assert lint.rows[1].cause == "rejected by a human: no" and lint.rows[3].cause == ""
    assert lint.rows[3].deltas == "coverage % +0.877, lint -2"
    assert timings({"timings": {"steps": {"tests": 2}}}) == {"tests": 2.0}
    assert summarise([]) == ()


def test_page_escapes_records_and_keeps_its_hooks() -> None:
    hostile = _entry("rejected", 1, summary="<script>alert(1)</script>", rules=FAILED, **MEASURED)
    page = render_page(summarise([hostile]), title="t & <b>", meta="m", diffs={"c1": "d/c1.html"})
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>t &amp; &lt;b&gt;</title>" in page
    assert '<tr class="candidate" data-cycle="c1" data-outcome="rejected">' in page
    assert '<a class="diff" href="d/c1.html">' in page
    assert 'data-chart="coverage"' in page and 'data-chart="reasons"' in page
    for loads in ("src=", "<link", "@import", "url(http", 'href="http'):
        assert loads not in page  # nothing is fetched from the network
    empty = render_page((), title="t", meta="m", diffs={})
    assert 'id="no-cycles"' in empty and "<svg" not in empty


def test_a_missing_plotting_library_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pygal", None)  # what an install without pygal looks like
    with pytest.raises(InputError, match=r"needs the plotting library pygal.*pip install pygal"):
        charts.line_chart("t", ["a"], [("s", [1.0])])


def test_report_open_on_a_repository_without_cycles(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    seen = tmp_path / "opened.txt"
    browser = write(tmp_path / "browser.sh", f'#!/bin/sh\necho "$1" > {seen}\n')
    os.chmod(browser, 0o755)
    made = ratchet("report", "--repo", str(repo), "--open", env={"BROWSER": str(browser)})
    assert made.code == 0, made.stderr
    index = repo / ".ratchet" / "report" / "index.html"
    assert f"report: {index} (no cycles recorded yet)" in made.stdout
    assert seen.read_text().strip() == index.as_uri()
    assert 'id="no-cycles"' in index.read_text()
    elsewhere = ratchet("report", "--repo", str(repo), "--out", str(tmp_path / "site"))
    assert elsewhere.code == 0 and (tmp_path / "site" / "index.html").is_file()


def test_the_cli_start_up_loads_neither_pygal_nor_the_pr_writer(tmp_path: Path) -> None:
    from tests.test_cli_startup import imported

    repo = make_repo(tmp_path / "repo")
    for args in (("--help",), ("status", "--repo", str(repo))):
        modules = imported(*args)
        assert "engine.cli" in modules, args  # the importtime listing was read
        heavy = ("pygal", "engine.report", "engine.push.describe", "engine.push.github")
        assert not {m for m in modules if m.startswith(heavy)}, args


def test_drawing_a_chart_leaves_no_legacy_import_hook_behind() -> None:
    # pygal appends a finder without find_spec to sys.meta_path; left there, every later
    # failed import in the process warns (radon's `import StringIO` probe, in a process that
    # drew the report and then measures: an ImportWarning raised as an error in CI).
    probe = (
        "import sys, warnings\n"
        "from engine.report import charts\n"
        "assert charts.line_chart('t', ['a', 'b'], [('s', [1.0, 2.0])]).startswith('<svg')\n"
        "assert all(hasattr(f, 'find_spec') for f in sys.meta_path), sys.meta_path\n"
        "warnings.simplefilter('error')\n"
        "try:\n"
        "    import StringIO  # noqa\n"
        "except ModuleNotFoundError:\n"
        "    print('clean')\n"
    )
    done = child_python("-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"
