"""Gate v2 end to end, through the real CLI on real git repositories: the project's own
test command (doctests), recorded-call replay, diff coverage, unpaddable coverage gain and
the broken-baseline stop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.repo_helpers import git, make_repo, plan_file, ratchet, snapshot_of_user_state

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

GOAL = {
    "id": "refactor",
    "description": "Refactor the package.",
    "scope": ["calc/**/*.py"],
    "provider": "scripted",
    "max_attempts": 1,
}

TEXT = '''\
"""Text helpers."""


def shout(word):
    """Upper-case and exclaim.

    >>> shout("hi")
    'HI!'
    """
    return word.upper() + "!"
'''

BUCKETS = '''\
"""Size buckets."""


def bucket(n):
    if n < 10:
        return "small"
    if n < 100:
        return "medium"
    return "large"


def describe(values):
    return [bucket(v) for v in values]
'''

BUCKET_TESTS = """\
from calc.buckets import describe


def test_describe_gives_one_label_per_value():
    assert len(describe([1, 50, 500])) == 3
    assert describe([1])[0] == "small"
"""

GRADE = '''\
"""Grades nobody tests."""


def grade(score):
    if score >= 90:
        return "A"
    else:
        if score >= 80:
            return "B"
        else:
            return "C"
'''


def run_plan(repo: Path, tmp: Path, summary: str, edits: list[dict[str, Any]]) -> dict[str, Any]:
    plan = plan_file(tmp / "plan.yaml", summary, edits)
    run = ratchet(
        "run-once", "--repo", str(repo), "--goal", "refactor", "--plan", str(plan), "--json"
    )
    assert run.code == 0, run.stderr
    return run.json


def evidence(repo: Path, result: dict[str, Any]) -> dict[str, Any]:
    """The full record in the git note of the candidate's record commit."""
    ref = result["rejected_ref"] or result["branch"]
    data: dict[str, Any] = json.loads(git(repo, "notes", "--ref", "ratchet", "show", ref))
    return data


def failed(result: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["detail"] for r in result["rules"] if not r["passed"]}


def break_shout(repo: Path, tmp: Path, text: str) -> dict[str, Any]:
    """A cycle whose candidate drops shout's "!" (its doctest fails)."""
    broken = text.replace('return word.upper() + "!"', "return word.upper()")
    return rewrite_text(repo, tmp, "Simplify shout", broken)


def rewrite_text(repo: Path, tmp: Path, summary: str, code: str) -> dict[str, Any]:
    """A cycle whose plan rewrites calc/text.py as ``code``."""
    return run_plan(repo, tmp, summary, [{"file": "calc/text.py", "op": "rewrite", "code": code}])


def break_bucket(repo: Path, tmp: Path) -> dict[str, Any]:
    """A cycle whose candidate makes bucket(500) "medium": no test sees it, the replay does."""
    bad = 'def bucket(n):\n    return "small" if n < 10 else "medium"\n'
    edit = {"file": "calc/buckets.py", "op": "replace", "symbol": "bucket", "code": bad}
    return run_plan(repo, tmp, "Flatten bucket", [edit])


def project(tmp: Path, files: dict[str, str], **directives: Any) -> Path:
    return make_repo(
        tmp / "repo",
        goals=[GOAL],
        directives={"target_branch": "main", "test_command": "auto", **directives},
        files=files,
    )


def test_doctest_only_break_is_rejected_because_auto_runs_the_touched_module_doctests(
    tmp_path: Path,
) -> None:
    repo = project(tmp_path, {"calc/text.py": TEXT})
    before, user = git(repo, "rev-parse", "main"), snapshot_of_user_state(repo)
    broken = TEXT.replace('return word.upper() + "!"', "return word.upper()")
    result = rewrite_text(repo, tmp_path, "Simplify shout", broken)
    assert result["outcome"] == "rejected", result
    assert "tests-pass" in failed(result)
    tests = result["candidate"]["tests"]
    assert any("calc/text.py" in f for f in tests["failures"]), tests["failures"]
    assert tests["doctests_added"] == 1 and tests["failed"] == 1  # a failing one counts
    assert tests["command"] == "python -m pytest -q"
    assert "module doctests: not asked" in tests["command_reason"]
    # adaptive timeout: min(timeouts.tests, max(60 s, 5 x the baseline's duration))
    expected = min(120.0, max(60.0, 5 * result["baseline"]["tests"]["duration"]))
    assert tests["time_limit"] == pytest.approx(expected)
    assert evidence(repo, result)["candidate"]["tests"]["command_reason"] == tests["command_reason"]
    assert git(repo, "rev-parse", "main") == before
    assert snapshot_of_user_state(repo) == user


def test_added_doctests_neither_pad_nor_skew_the_counts_the_baseline_is_compared_with(
    tmp_path: Path,
) -> None:
    # Found on toolz 0.12.1: the touched modules' doctests ran on the candidate only, so
    # its pass count rose (180 -> 254) and a `+SKIP` doctest counted as a new skip, which
    # rejected an honest change (no-new-skips, guard-tests-skipped).
    branchy = TEXT.replace(
        '    return word.upper() + "!"\n',
        '    if word:\n        return word.upper() + "!"\n    else:\n        return "!"\n',
    )
    skipping = (
        branchy
        + '''

def whisper(word):
    """Lower-case.

    >>> whisper("HI")  # doctest: +SKIP
    'hi'
    """
    return word.lower()
'''
    )
    tests = "from calc.text import shout\n\n\ndef test_shout():\n    assert shout('a') == 'A!'\n"
    repo = project(tmp_path, {"calc/text.py": skipping, "tests/test_text.py": tests})
    result = rewrite_text(repo, tmp_path, "Flatten shout", TEXT + skipping[len(branchy) :])
    assert result["outcome"] == "merged", failed(result)
    base, cand = result["baseline"]["tests"], result["candidate"]["tests"]
    assert cand["doctests_added"] == 1  # shout's; whisper's is all +SKIP: left out
    assert (cand["passed"], cand["skipped"], cand["collected"]) == (
        base["passed"],
        base["skipped"],
        base["collected"],
    )


def test_added_doctests_earn_no_coverage_the_baseline_could_not_have(tmp_path: Path) -> None:
    """Found on tomlkit 0.13.3: the doctests of api.py, which only the candidate runs,
    covered two lines of items.py no test runs; the comment-only change showed a coverage
    gain, a positive ROI, and merged. Their verdict counts; their coverage is not measured."""
    text = TEXT.replace(
        "    >>> shout(\"hi\")\n    'HI!'\n",
        "    >>> shout(\"hi\")\n    'HI!'\n    >>> from calc.extra import only_doctests\n"
        "    >>> only_doctests()\n    1\n",
    )
    ops = "def only_doctests():\n    return 1\n"
    tests = "from calc.text import shout\n\n\ndef test_shout():\n    assert shout('a') == 'A!'\n"
    repo = project(
        tmp_path, {"calc/text.py": text, "calc/extra.py": ops, "tests/test_text.py": tests}
    )
    commented = text.replace("def shout(word):\n", "def shout(word):\n    # loud\n")
    result = rewrite_text(repo, tmp_path, "Comment shout", commented)
    base, cand = result["baseline"], result["candidate"]
    assert cand["tests"]["doctests_added"] == 1 and cand["tests"]["failed"] == 0
    assert cand["coverage"]["files"]["calc/extra.py"] == base["coverage"]["files"]["calc/extra.py"]
    assert cand["coverage"]["covered_lines"] == base["coverage"]["covered_lines"]
    assert cand["diff_coverage"]["gained"] == 0
    assert result["outcome"] == "rejected" and "positive-roi" in failed(result), result


def test_refactor_that_changes_what_only_recorded_calls_see_is_rejected(tmp_path: Path) -> None:
    repo = project(tmp_path, {"calc/buckets.py": BUCKETS, "tests/test_buckets.py": BUCKET_TESTS})
    before = git(repo, "rev-parse", "main")
    result = break_bucket(repo, tmp_path)
    assert result["outcome"] == "rejected", result
    reasons = failed(result)
    assert "tests-pass" not in reasons  # the suite is green: only the replay sees it
    detail = reasons["guard-behaviour-preserved"]
    assert "calc/buckets.py::bucket(500)" in detail
    assert "baseline returned 'large', candidate returned 'medium'" in detail
    behaviour = result["candidate"]["behaviour"]
    assert behaviour["diverged"] >= 1 and behaviour["calls"] >= 3
    assert git(repo, "rev-parse", "main") == before
    # recorded by the candidate's own traced reaching run (no recording run on the base)
    # and replayed on the base
    assert behaviour["recorded_on"] == "candidate", behaviour
    assert "behaviour_record" not in result["timings"], result["timings"]
    assert result["timings"]["behaviour_replay"] > 0

    # the next candidate for bucket on the same base records its own calls the same way,
    # and it still tells a preserving refactor from the break above
    good = 'def bucket(n):\n    return ("small", "medium", "large")[(n >= 10) + (n >= 100)]\n'
    again = run_plan(
        repo,
        tmp_path,
        "Flatten bucket again",
        [{"file": "calc/buckets.py", "op": "replace", "symbol": "bucket", "code": good}],
    )
    assert "behaviour_record" not in again["timings"], again["timings"]
    assert again["timings"]["behaviour_replay"] > 0, again["timings"]
    assert again["candidate"]["behaviour"]["recorded_on"] == "candidate"
    assert again["candidate"]["behaviour"]["calls"] == behaviour["calls"]
    assert again["candidate"]["behaviour"]["diverged"] == 0
    assert again["outcome"] == "merged", failed(again)


def test_a_refactor_measured_without_reach_is_recorded_on_the_base_as_before(
    tmp_path: Path,
) -> None:
    """Most tests reach bucket: the full stage runs the whole suite under coverage, no
    traced reaching run exists to carry the recorder, so the calls are recorded by a run
    of their own on the base and replayed on the candidate."""
    tests = BUCKET_TESTS + (
        "\n\ndef test_small():\n    assert describe([2]) == ['small']\n"
        "\n\ndef test_medium():\n    assert describe([20]) == ['medium']\n"
    )
    repo = project(tmp_path, {"calc/buckets.py": BUCKETS, "tests/test_buckets.py": tests})
    result = break_bucket(repo, tmp_path)
    assert result["outcome"] == "rejected", result
    detail = failed(result)["guard-behaviour-preserved"]
    assert "baseline returned 'large', candidate returned 'medium'" in detail
    assert result["candidate"]["behaviour"]["recorded_on"] == "baseline"
    timings = result["timings"]
    assert timings["behaviour_record"] > 0 and "tests_reach" not in timings, timings


def test_a_plan_file_on_a_ruff_goal_is_checked_for_behaviour_too(tmp_path: Path) -> None:
    """The behaviour check is skipped for the ruff fixer's rewrites, not for any plan on a
    goal whose provider is ruff: a ``--plan`` file (cachetools 8.0, a hashkey that stopped
    sorting its keyword arguments) merged on lint-clean with no replay."""
    repo = make_repo(
        tmp_path / "repo",
        goals=[{**GOAL, "provider": "ruff"}],
        directives={"target_branch": "main", "test_command": "auto"},
        files={"calc/buckets.py": BUCKETS, "tests/test_buckets.py": BUCKET_TESTS},
    )
    result = break_bucket(repo, tmp_path)
    assert result["outcome"] == "rejected", result
    assert "baseline returned 'large'" in failed(result)["guard-behaviour-preserved"]


def test_behaviour_preserving_refactor_of_recorded_function_merges(tmp_path: Path) -> None:
    repo = project(tmp_path, {"calc/buckets.py": BUCKETS, "tests/test_buckets.py": BUCKET_TESTS})
    good = 'def bucket(n):\n    return ("small", "medium", "large")[(n >= 10) + (n >= 100)]\n'
    result = run_plan(
        repo,
        tmp_path,
        "Flatten bucket",
        [{"file": "calc/buckets.py", "op": "replace", "symbol": "bucket", "code": good}],
    )
    outcomes = {r["id"]: r for r in result["rules"]}
    assert outcomes["guard-behaviour-preserved"]["passed"], outcomes["guard-behaviour-preserved"]
    assert result["candidate"]["behaviour"]["calls"] >= 3
    assert result["candidate"]["diff_coverage"]["uncovered"] == 0
    assert result["outcome"] == "merged", failed(result)
    # recorded by the candidate's traced reaching run, then replayed on the base in a
    # background thread
    timings = result["timings"]
    assert result["candidate"]["behaviour"]["recorded_on"] == "candidate"
    assert "behaviour_record" not in timings and timings["behaviour_replay"] > 0, timings


def test_always_executed_padding_earns_no_coverage_gain(tmp_path: Path) -> None:
    repo = project(tmp_path, {"calc/grade.py": GRADE})  # an untested module keeps % low
    padding = "".join(f"_PAD_{i} = {i}\n" for i in range(40))
    docstring = '"""Small arithmetic helpers."""\n'  # calc/ops.py: imported by the tests
    result = run_plan(
        repo,
        tmp_path,
        "Pad coverage",
        [{"file": "calc/ops.py", "op": "search_replace", "search": docstring,
          "replace": docstring + padding}],
    )  # fmt: skip
    base, cand = result["baseline"]["coverage"], result["candidate"]["coverage"]
    assert cand["percent"] > base["percent"] + 5  # the old formula would have paid for this
    diff = result["candidate"]["diff_coverage"]
    assert diff["measured"] and diff["gain"] == 0.0 and diff["gained"] == 0
    assert diff["changed"] == 40 and diff["uncovered"] == 0
    assert result["outcome"] == "rejected"
    assert "positive-roi" in failed(result)


def test_uncovered_changed_lines_go_to_review_with_the_lines(tmp_path: Path) -> None:
    repo = project(tmp_path, {"calc/grade.py": GRADE})
    flat = (
        "def grade(score):\n"
        '    if score >= 90:\n        return "A"\n'
        '    if score >= 80:\n        return "B"\n'
        '    return "C"\n'
    )
    result = run_plan(
        repo,
        tmp_path,
        "Flatten grade",
        [{"file": "calc/grade.py", "op": "replace", "symbol": "grade", "code": flat}],
    )
    assert result["outcome"] == "review", result
    reasons = failed(result)
    # lines 5-6 (the first `if` and its return) are unchanged text: only 7-9 are new
    assert "calc/grade.py:7" in reasons["diff-coverage"]
    lines = result["candidate"]["diff_coverage"]["lines"]
    assert lines == ["calc/grade.py:7", "calc/grade.py:8", "calc/grade.py:9"]
    # grade has no recorded call: untested for the behaviour rule, review not reject
    assert "no recorded call" in reasons["guard-behaviour-preserved"]
    assert git(repo, "rev-parse", f"{result['branch']}~1") == git(repo, "rev-parse", "main")


def test_failing_baseline_stops_the_cycle_before_any_proposal(tmp_path: Path) -> None:
    broken_test = "from calc.ops import missing_name\n\n\ndef test_x():\n    pass\n"
    repo = project(tmp_path, {"tests/test_broken.py": broken_test})
    before = git(repo, "rev-parse", "main")
    result = run_plan(
        repo,
        tmp_path,
        "Anything",
        [{"file": "calc/ops.py", "op": "add_import", "code": "import os"}],
    )
    assert result["outcome"] == "broken-baseline", result
    assert result["message"].startswith(f"the tests fail on the target at {before[:12]}: 1 error")
    assert "ImportError" in result["message"]
    assert "fix them or set test_command" in result["message"]
    assert result["branch"] is None and git(repo, "branch", "--list", "ratchet/*") == ""
    log = ratchet("log", "--repo", str(repo))
    assert log.code == 0 and "BROKEN-BASELINE" in log.stdout, log.stdout


def test_a_doctest_only_break_is_caught_by_reach_too(tmp_path: Path) -> None:
    """With a selection map the traced reaching run carries the touched module's doctests:
    a break only its doctest sees is rejected there, at the "selected" stage, and the
    untraced whole suite beside it is cancelled."""
    text = TEXT + "\n\ndef quiet(word):\n    return word.lower()\n"
    quiet_test = (
        "from calc.text import quiet\n\n\ndef test_quiet():\n    assert quiet('A') == 'a'\n"
    )
    repo = project(tmp_path, {"calc/text.py": text, "tests/test_text.py": quiet_test})
    result = break_shout(repo, tmp_path, text)
    assert result["outcome"] == "rejected", result
    tests = result["candidate"]["tests"]
    assert tests["stage"] == "selected", tests
    assert result["timings"]["tests_reach"] > 0
    assert any("calc/text.py" in f for f in tests["failures"]), tests["failures"]
    assert tests["doctests_added"] == 1


HALF = '''

def half(n):
    """Half of n, as the docs wrongly say.

    >>> half(3)
    1
    """
    return n / 2
'''


LOUD = 'return word.upper() + "!"'
BRANCHY_LOUD = 'if word:\n        return word.upper() + "!"\n    else:\n        return "!"'
WHISPER = '''

def whisper(word):
    """Lower-case."""
    if word:
        return word.lower()
    else:
        return ""
'''
TEXT_TESTS = (
    "from calc.text import shout, whisper\n\n\ndef test_shout():\n    assert shout('a') == 'A!'\n"
    "\n\ndef test_whisper():\n    assert whisper('A') == 'a'\n"
)


def flatten(text: str, function: str) -> str:
    """``text`` with the if/else of ``shout`` or ``whisper`` flattened: the same behaviour,
    lower complexity (a change with something to gain, so it may merge)."""
    if function == "shout":
        return text.replace(BRANCHY_LOUD, LOUD)
    return text.replace(
        'if word:\n        return word.lower()\n    else:\n        return ""', "return word.lower()"
    )


def test_a_doctest_already_failing_on_the_target_does_not_block_its_module(
    tmp_path: Path,
) -> None:
    """Found on python-dateutil 4.0.0: a doctest failing on the target failed every
    candidate touching its module (the baseline never runs added doctests; quarantine
    refuses touched files). Its doctests run on the base: the same failure there, from a
    docstring the candidate left alone, is quarantined; the reaching run that rejected the
    candidate for it is run again; the cycle after the merge knows the result."""
    text = TEXT.replace(LOUD, BRANCHY_LOUD) + HALF + WHISPER
    repo = project(tmp_path, {"calc/text.py": text, "tests/test_text.py": TEXT_TESTS})
    flat = flatten(text, "shout")
    result = rewrite_text(repo, tmp_path, "Flatten shout", flat)
    assert result["outcome"] == "merged", failed(result)
    tests = result["candidate"]["tests"]
    doctest = "calc/text.py::calc.text.half"
    assert tests["doctests_failing_on_base"] == [doctest]
    assert tests["quarantined"] == [doctest] and tests["failures"] == []
    assert tests["stage"] == "full"
    assert result["timings"]["doctests_on_base"] > 0
    kept = list((repo / ".ratchet" / "cache" / "doctests").glob("*.json"))
    assert len(kept) == 2 and all(doctest in k.read_text() for k in kept)  # base, candidate

    # the next candidate on the merged tip (the candidate's content) knows them: no run
    again = flatten(flat, "whisper")
    second = rewrite_text(repo, tmp_path, "Flatten whisper", again)
    assert second["outcome"] == "merged", failed(second)
    assert second["candidate"]["tests"]["quarantined"] == [doctest]
    assert "doctests_on_base" not in second["timings"]


def test_every_doctest_failing_on_the_target_is_forgiven_not_only_the_first_seen(
    tmp_path: Path,
) -> None:
    """Found on tomlkit 0.13.3 (five doctests of api.py fail on the base): the fail-fast
    reaching run stopped at the first, the base's run forgave that one only, and the run
    again stopped at the second."""
    double = HALF.replace("half", "double").replace("Half of", "Double").replace("/ 2", "* 3")
    text = TEXT.replace(LOUD, BRANCHY_LOUD) + HALF + double + WHISPER
    repo = project(tmp_path, {"calc/text.py": text, "tests/test_text.py": TEXT_TESTS})
    flat = flatten(text, "shout")
    result = rewrite_text(repo, tmp_path, "Flatten shout", flat)
    assert result["outcome"] == "merged", failed(result)
    both = ["calc/text.py::calc.text.double", "calc/text.py::calc.text.half"]
    assert sorted(result["candidate"]["tests"]["quarantined"]) == both


def test_a_candidate_that_rewrites_a_failing_doctest_or_breaks_another_is_still_rejected(
    tmp_path: Path,
) -> None:
    text = TEXT + HALF
    repo = project(tmp_path, {"calc/text.py": text})
    before = git(repo, "rev-parse", "main")
    # the failing doctest's docstring rewritten (to fail another way): not forgiven
    rewritten = text.replace("    >>> half(3)\n    1\n", "    >>> half(3)\n    2\n")
    result = rewrite_text(repo, tmp_path, "Fix docs", rewritten)
    assert result["outcome"] == "rejected", result
    tests = result["candidate"]["tests"]
    assert tests["doctests_failing_on_base"] == []
    assert "calc/text.py::calc.text.half" in tests["failures"]
    # a doctest the candidate breaks is its own, beside one failing on the base
    result = break_shout(repo, tmp_path, text)
    assert result["outcome"] == "rejected", result
    tests = result["candidate"]["tests"]
    assert tests["doctests_failing_on_base"] == ["calc/text.py::calc.text.half"]
    assert tests["failures"] == ["calc/text.py::calc.text.shout"], tests
    assert "tests-pass" in failed(result)
    assert git(repo, "rev-parse", "main") == before
