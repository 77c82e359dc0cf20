"""``ratchet report`` and ``directives.push`` end to end, on one real repository with real
cycles (a merge, a rejection, a review) pushing to a local bare remote, with a stand-in
``gh`` on PATH: the report loaded in headless Chromium (charts and candidate table read
from the DOM after rendering, a screenshot kept under the test's tmp dir), the remote's
refs, notes and draft PR, and the history seen from a fresh clone of the remote."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.browser import dump_dom, parse, screenshot
from tests.gh_standin import install_gh
from tests.repo_helpers import (
    BROKEN_CLASSIFY,
    FLAT_CLASSIFY,
    FLAT_SIGN,
    SIGN,
    git,
    make_repo,
    plan_file,
    ratchet,
    write,
)

pytestmark = pytest.mark.slow

SIGN_TESTS = """\
from calc.sign import sign


def test_sign():
    assert [sign(-5), sign(0), sign(7)] == [-1, 0, 1]
"""


OUTCOMES = {"merged", "rejected", "review"}


def _edit(file: str, symbol: str, code: str) -> list[dict[str, str]]:
    return [{"file": file, "op": "replace", "symbol": symbol, "code": code}]


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A repository after three real cycles: merged, rejected, kept for review."""
    tmp = tmp_path_factory.mktemp("report")
    remote = tmp / "remote.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(remote))
    push = {"remote": "origin", "branches": "all"}
    repo = make_repo(
        tmp / "repo",
        directives={"target_branch": "main", "push": push},
        files={"calc/sign.py": SIGN, "tests/test_sign.py": SIGN_TESTS},
    )
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    env = {"PATH": install_gh(tmp / "bin", tmp / "gh.log")}
    git(repo, "checkout", "-q", "-b", "elsewhere")
    runs = []
    plans = [
        ("Flatten classify", _edit("calc/ops.py", "classify", FLAT_CLASSIFY)),
        ("Break classify", _edit("calc/ops.py", "classify", BROKEN_CLASSIFY)),
        ("Flatten sign", _edit("calc/sign.py", "sign", FLAT_SIGN)),
    ]
    for i, (summary, edits) in enumerate(plans):
        if i == 2:  # the human asks to review every change from now on
            directives = yaml.safe_load((repo / "directives.yaml").read_text())
            write(repo / "directives.yaml", yaml.safe_dump({**directives, "merge": "review"}))
            git(repo, "commit", "-qam", "review every change")
        plan = plan_file(tmp / f"plan{i}.yaml", summary, edits)
        run = ratchet(
            *("run-once", "--repo", str(repo), "--goal", "simplify", "--plan", str(plan)),
            "--json",
            env=env,
        )
        assert run.code == 0, run.stderr
        runs.append(run.json)
    assert [r["outcome"] for r in runs] == ["merged", "rejected", "review"], runs
    return {"repo": repo, "tmp": tmp, "runs": runs, "remote": remote}


def _values(figure: Any) -> list[str]:
    return [d.content for d in figure.all("desc", class_="value")]


def test_report_renders_charts_and_candidates_in_chromium(worked: dict[str, Any]) -> None:
    repo, tmp, runs = worked["repo"], worked["tmp"], worked["runs"]
    out = tmp / "site"
    made = ratchet("report", "--repo", str(repo), "--out", str(out))
    assert made.code == 0, made.stderr
    assert "1 goal(s), 3 recorded entries, 3 diff(s)" in made.stdout, made.stdout
    assert git(repo, "status", "--porcelain") == ""

    dom = parse(dump_dom(out / "index.html", tmp / "profile"))
    goal = dom.one("section", data_goal="simplify")
    charts = {f.attrs["data-chart"]: f for f in goal.all("figure", class_="chart")}
    assert set(charts) >= {"coverage", "complexity", "lint", "tests", "roi", "outcomes"}
    assert set(charts) >= {"reasons", "steps"}
    for figure in charts.values():
        assert figure.all("svg"), "a chart without its SVG"
    # complexity of the target at each cycle: 7 (both nested), 5 (classify flat), 5; the
    # candidates: 5, 6 (broken classify is flat but the rest stays), 3
    complexity = _values(charts["complexity"])
    target = [str(r["baseline"]["complexity"]["total"]) for r in runs]
    cand = [str(r["candidate"]["complexity"]["total"]) for r in runs]
    assert complexity == target + cand, complexity
    assert _values(charts["tests"]) == [str(r["baseline"]["tests"]["passed"]) for r in runs] + [
        str(r["candidate"]["tests"]["passed"]) for r in runs
    ]
    assert _values(charts["roi"]) == [f"{round(r['roi'], 2):g}" for r in runs]
    # one bar per outcome: its count as the value, its name in the legend
    assert sorted(_values(charts["outcomes"])) == ["1", "1", "1"]
    legend = [t.content for t in charts["outcomes"].all("text") if t.content in OUTCOMES]
    assert sorted(legend) == ["merged", "rejected", "review"]
    reasons = [t.content for t in charts["reasons"].all("text")]
    assert "tests-pass" in reasons, reasons

    stats = {r.attrs["data-stat"]: r.content for r in goal.all("tr") if "data-stat" in r.attrs}
    assert "33% (1 merged of 3 proposed)" in stats["acceptance rate"]
    rows = goal.all("tr", class_="candidate")
    assert [r.attrs["data-outcome"] for r in rows] == ["review", "rejected", "merged"]
    assert [r.one("td", class_="summary").content for r in rows] == [
        "Flatten sign",
        "Break classify",
        "Flatten classify",
    ]
    assert rows[2].one("td", class_="deltas").content == "complexity -2"
    assert "tests failed" in rows[1].one("td", class_="cause").content
    link = rows[0].one("a", class_="diff")
    diff = (out / link.attrs["href"]).read_text()
    assert "return (n &gt; 0) - (n &lt; 0)" in diff and "snapshots/" not in diff

    png = screenshot(out / "index.html", tmp / "report.png", tmp / "profile")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000, len(data)


def test_pushed_to_the_remote_with_a_draft_pr_and_seen_from_a_fresh_clone(
    worked: dict[str, Any],
) -> None:
    repo, tmp, runs, remote = worked["repo"], worked["tmp"], worked["runs"], worked["remote"]
    assert all("push: pushed" in str(r["notes"]) for r in runs), [r["notes"] for r in runs]
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "main")
    assert git(remote, "rev-parse", "ratchet/simplify/3") == runs[2]["commit"]
    assert git(remote, "rev-parse", "refs/ratchet/rejected/simplify/2") == git(
        repo, "rev-parse", "refs/ratchet/rejected/simplify/2"
    )
    calls = (tmp / "gh.log").read_text().splitlines()
    creates = [c for c in calls if c.startswith("pr create")]
    assert len(creates) == 1 and "--draft --head ratchet/simplify/3 --base main" in creates[0]
    assert "--title Flatten sign" in creates[0]
    body = (repo / ".ratchet" / "pr" / "simplify-3.md").read_text()
    moved = [runs[2][side]["complexity"]["total"] for side in ("baseline", "candidate")]
    assert f"complexity {moved[0]} → {moved[1]}" in body
    assert "ratchet review accept simplify/3" in body
    assert "| `tests-pass` | pass |" in body

    clone = tmp / "clone"
    git(tmp, "clone", "-q", str(remote), str(clone))
    git(clone, "fetch", "-q", "origin", "+refs/ratchet/*:refs/ratchet/*")
    log = ratchet("log", "--repo", str(clone), "--json")
    assert log.code == 0, log.stderr
    seen = [(e["summary"], e["outcome"]) for e in json.loads(log.stdout)]
    assert seen == [
        ("Flatten classify", "merged"),
        ("Break classify", "rejected"),
        ("Flatten sign", "review"),
    ], seen
    report = ratchet("report", "--repo", str(clone), "--out", str(tmp / "clone-site"))
    assert report.code == 0 and "3 recorded entries, 3 diff(s)" in report.stdout, report.stdout
    page = (tmp / "clone-site" / "index.html").read_text()
    assert page.count('class="candidate"') == 3 and "33% (1 merged of 3 proposed)" in page
