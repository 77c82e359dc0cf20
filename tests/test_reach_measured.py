"""Coverage by reach on real projects: what it carries equals what the whole suite measures.

Each test measures a baseline (the whole suite under coverage with per-test contexts, in
the sandbox), plans the reach of a candidate's change from it, runs the candidate by reach
(:func:`run_by_reach`) and the candidate's whole suite under coverage, and compares.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.probes.reached import Untraced, run_by_reach
from engine.gate.evaluation.probes.tests import TestsProbe, TestsReport
from engine.gate.evaluation.reach import Reach, plan_reach
from engine.gate.evaluation.reach_limit import TestLimits
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.gate.evaluation.selection import TestMap
from tests.git_testing import IDENTITY_ENV
from tests.repo_helpers import PYTEST_FIXTURE_COMMAND, git

# every test runs the suites in bubblewrap, which cannot nest inside ratchet's own sandbox
pytestmark = pytest.mark.sandbox

UTIL = """\
def sign(n):
    if n < 0:
        return -1
    if n > 0:
        return 1
    return 0


def total(xs):
    out = 0
    for x in xs:
        if x:
            out += x
    return out
"""
M = """\
from pkg.util import sign


def classify(n):
    if sign(n) < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"


def parity(n):
    if n % 2:
        return "odd"
    return "even"


def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
"""
# classify stops calling sign (whose branches only classify's tests took) and gains a
# branch; parity and clamp move down two lines
M_NEW = M.replace(
    '    if sign(n) < 0:\n        return "negative"\n',
    '    if n > 100:\n        return "big"\n    if n < 0:\n        return "negative"\n',
)
TESTS = {
    "tests/test_classify.py": """\
        from pkg.m import classify


        def test_negative():
            assert classify(-1) == "negative"


        def test_positive():
            assert classify(5) == "positive"
        """,
    "tests/test_parity.py": """\
        from pkg.m import parity


        def test_even():
            assert parity(2) == "even"
        """,
    "tests/test_clamp.py": """\
        from pkg.m import clamp


        def test_low():
            assert clamp(-1, 0, 9) == 0


        def test_mid():
            assert clamp(3, 0, 9) == 3
        """,
    "tests/test_util.py": """\
        from pkg.util import sign, total


        def test_sign_zero():
            assert sign(0) == 0


        def test_total():
            assert total([1, 0]) == 1
        """,
    "tests/test_more.py": """\
        from pkg.m import clamp
        from pkg.util import total


        def test_empty():
            assert total([]) == 0


        def test_high():
            assert clamp(20, 0, 9) == 9
        """,
}
EXTRA = {
    "pkg/extra.py": """\
        def pick(xs, key):
            for x in xs:
                if key(x):
                    return x
            return None
        """,
    "tests/test_extra.py": """\
        from pkg.extra import pick


        def test_found():
            assert pick([1, 2], lambda x: x > 1) == 2


        def test_missing():
            assert pick([1], lambda x: x > 1) is None


        def test_first():
            assert pick([3], lambda x: x) == 3
        """,
}
BRANCH = {"pyproject.toml": "[tool.coverage.run]\nbranch = true\n"}
# parity(3) runs when pytest imports the module (collection), outside any test; the
# module's own test does not reach parity
AT_IMPORT = {
    "tests/test_import.py": """\
        from pkg.m import clamp, parity

        ODD = parity(3)


        def test_clamped():
            assert clamp(5, 0, 9) == 5
        """,
}


def commit(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change", env=IDENTITY_ENV)


def project(
    tmp: Path, extra: dict[str, str], files: dict[str, str] | None = None
) -> tuple[Path, TestsReport]:
    """A committed project (``files``, by default this module's, with ``extra``) and its
    baseline measurement (the whole suite, per-test contexts)."""
    repo = tmp / "repo"
    files = files or {"pkg/__init__.py": "", "pkg/util.py": UTIL, "pkg/m.py": M, **EXTRA, **TESTS}
    commit(repo, {**files, **extra})
    base = PROBE.run(repo, contexts=True)
    assert base.tests.passed == base.tests.collected and base.lines and base.test_map
    return repo, base


PROBE = TestsProbe(runner=SandboxRunner(), test_command=PYTEST_FIXTURE_COMMAND, timeout=120)


def plan(
    repo: Path, base: TestsReport, new: dict[str, str], test_map: TestMap | None = None
) -> Reach:
    """The reach of changing ``repo``'s files to ``new`` (path -> text)."""
    changes = [
        FileChange(path=p, old_path=p, old=(repo / p).read_text(encoding="utf-8"), new=text)
        for p, text in new.items()
    ]
    return plan_reach(changes, test_map or base.test_map, base.lines, base.coverage)


def candidate(repo: Path, reach: Reach, new: dict[str, str]) -> tuple[TestsReport, TestsReport]:
    """The candidate (``repo`` with ``new``) measured by reach and whole."""
    commit(repo, new)
    sources = sorted(p.relative_to(repo).as_posix() for p in repo.glob("pkg/*.py"))
    by_reach = run_by_reach(PROBE, repo, reach, timeout=120, sources=sources)
    assert by_reach is not None and by_reach.tests.stage == "full"
    return by_reach, PROBE.run(repo, contexts=True)


def by_test(test_map: TestMap) -> dict[str, object]:
    """The map by test names (indexes differ between maps that say the same)."""

    def named(by_key: object) -> dict[object, frozenset[str]]:
        assert isinstance(by_key, dict)
        return {k: frozenset(test_map.tests[i] for i in ix) for k, ix in by_key.items() if ix}

    return {
        "lines": {p: named(dict(m)) for p, m in test_map.lines.items() if named(dict(m))},
        "arcs": {p: named(dict(m)) for p, m in (test_map.arcs or {}).items() if named(dict(m))},
        "outside": {p: ns for p, ns in test_map.outside.items() if ns},
        "outside_arcs": {p: a for p, a in test_map.outside_arcs.items() if a},
    }


SIGNATURE = M_NEW.replace("def clamp(x, lo, hi):", "def clamp(x, lo=0, hi=9):")
ZERO = """\
    from pkg.m import classify


    def test_negative():
        assert classify(-1) == "negative"


    def test_positive():
        assert classify(5) == "positive"


    def test_zero():
        assert classify(0) == "zero"
    """


@pytest.mark.parametrize(
    ("config", "new", "reached"),
    [
        ({**BRANCH, **AT_IMPORT}, {"pkg/m.py": M_NEW}, 2),
        # h11 0.16.0: a setup.py (protected, so not one of the candidate's sources) no test
        # runs is still in the whole suite's report: the totals count its statements too
        (
            {**AT_IMPORT, "setup.py": "from setuptools import setup\n\nsetup(name='pkg')\n"},
            {"pkg/m.py": M_NEW},
            2,
        ),
        (BRANCH, {"pkg/m.py": SIGNATURE}, 6),  # outside a body: every test of pkg/m.py
        (BRANCH, {"pkg/m.py": M_NEW, "tests/test_classify.py": ZERO}, 1),  # + its file
    ],
    ids=["branch", "lines", "branch-signature", "branch-test-file"],
)
def test_a_candidate_by_reach_measures_what_the_whole_suite_does(
    tmp_path: Path, config: dict[str, str], new: dict[str, str], reached: int
) -> None:
    """The reaching tests run again traced; sign's branches, which only classify's tests
    took, are lost (util.py unchanged, measured by the reaching run); extra.py (not
    imported by it) and, in a change inside classify, parity's and clamp's lines and arcs
    carry over at their new numbers; parity's odd branch ran only at import time: the
    totals, per-file lines and branches, and the next map equal the whole suite's."""
    repo, base = project(tmp_path, config)
    reach = plan(repo, base, new)
    assert reach.usable, reach.fallback
    assert len(reach.args) == reached
    by_reach, whole = candidate(repo, reach, new)
    assert whole.lines is not None and whole.test_map is not None
    branches = whole.lines["pkg/util.py"].branches
    assert (branches is not None) == ("pyproject.toml" in config)  # the project decides
    assert by_reach.coverage == whole.coverage
    assert by_reach.coverage.percent < base.coverage.percent  # sign lost lines (and branches)
    assert by_reach.lines == whole.lines
    assert by_reach.test_map is not None
    assert by_test(by_reach.test_map) == by_test(whole.test_map)


def test_a_changed_function_that_also_ran_at_import_time_is_measured_over_the_collection(
    tmp_path: Path,
) -> None:
    """parity(4) ran when test_even_import.py was collected, and parity(2) in test_even:
    the same lines, each with a test. The candidate sends 4 down a new branch: a reaching
    run of test_even alone would not import test_even_import.py, so it would not see that
    branch run. The plan says so: the reaching run collects the whole suite (every module
    imported, traced) and runs test_even alone, and measures what the whole suite does; a
    map that did not record what ran outside tests (as before) would have under-counted."""
    at_import = {
        "tests/test_even_import.py": """\
            from pkg.m import clamp, parity

            EVEN = parity(4)


            def test_clamped():
                assert clamp(5, 0, 9) == 5
            """,
    }
    repo, base = project(tmp_path, {**BRANCH, **at_import})
    assert base.test_map is not None
    assert {13, 15} <= base.test_map.ran_outside("pkg/m.py")
    bigger = '    if n > 3:\n        return "big even"\n    return "even"'
    new = {"pkg/m.py": M.replace('    return "even"', bigger)}
    reach = plan(repo, base, new)
    assert reach.usable, reach.fallback
    assert "changed function of pkg/m.py also runs outside any test" in reach.collect
    assert reach.args == ("tests/test_parity.py::test_even",)
    blind = dataclasses.replace(base.test_map, outside={}, outside_arcs={})
    unaware = plan(repo, base, new, blind)
    assert unaware.usable and unaware.args == reach.args and not unaware.collect
    # the candidate measured both ways, against the whole suite under coverage
    commit(repo, new)
    sources = sorted(p.relative_to(repo).as_posix() for p in repo.glob("pkg/*.py"))
    whole = PROBE.run(repo, contexts=True)
    collected = run_by_reach(PROBE, repo, reach, timeout=120, sources=sources)
    assert isinstance(collected, TestsReport) and collected.tests.stage == "full"
    assert collected.coverage == whole.coverage and collected.lines == whole.lines
    assert collected.test_map is not None and whole.test_map is not None
    assert by_test(collected.test_map) == by_test(whole.test_map)
    by_reach = run_by_reach(PROBE, repo, unaware, timeout=120, sources=sources)
    assert isinstance(by_reach, TestsReport)
    assert by_reach.coverage.covered_lines == whole.coverage.covered_lines - 1  # "big even"


KNOWN = "tests/test_classify.py::test_known"
WITH_KNOWN = {
    "tests/test_classify.py": """\
        from pkg.m import classify


        def test_known():
            assert classify(7) == "seven"


        def test_negative():
            assert classify(-1) == "negative"


        def test_positive():
            assert classify(5) == "positive"
        """,
}


def test_a_test_failing_on_the_baseline_that_reaches_the_change_keeps_the_cheap_path(
    tmp_path: Path,
) -> None:
    """test_known fails on the baseline and runs classify, first of its file: the traced
    run goes on past it (the contexts plugin's fail-fast stops at new failures only), so
    the candidate is measured by reach, as the whole suite would measure it; a candidate
    that also breaks test_negative is rejected at the traced run."""
    repo = tmp_path / "repo"
    files = {"pkg/__init__.py": "", "pkg/util.py": UTIL, "pkg/m.py": M, **EXTRA, **TESTS}
    commit(repo, {**files, **BRANCH, **WITH_KNOWN})
    base = PROBE.run(repo, contexts=True)
    assert base.tests.failures == (KNOWN,) and base.lines and base.test_map
    new = {"pkg/m.py": M_NEW}
    reach = plan(repo, base, new)
    assert reach.usable, reach.fallback
    assert KNOWN in reach.args
    commit(repo, new)
    sources = sorted(p.relative_to(repo).as_posix() for p in repo.glob("pkg/*.py"))
    by_reach = run_by_reach(
        PROBE, repo, reach, timeout=120, sources=sources, known_failures=(KNOWN,)
    )
    assert isinstance(by_reach, TestsReport) and by_reach.tests.stage == "full"
    assert by_reach.tests.failures == (KNOWN,)
    whole = PROBE.run(repo, contexts=True)
    assert by_reach.coverage == whole.coverage and by_reach.lines == whole.lines
    assert by_reach.test_map is not None and whole.test_map is not None
    assert by_test(by_reach.test_map) == by_test(whole.test_map)
    commit(repo, {"pkg/m.py": M_NEW.replace('return "negative"', 'return "neg"')})
    broken = run_by_reach(PROBE, repo, reach, timeout=120, sources=sources, known_failures=(KNOWN,))
    assert isinstance(broken, TestsReport) and broken.tests.stage == "selected"
    assert "tests/test_classify.py::test_negative" in broken.tests.failures


GENERATED = {
    "tests/test_generated.py": """\
        from pkg.util import total


        def test_compiled_under_a_made_up_name():
            namespace = {}
            exec(compile("def f():\\n    return 1\\n", "__init__", "exec"), namespace)
            assert namespace["f"]() == total([1])
        """,
}


def test_code_compiled_under_a_made_up_file_name_leaves_the_report_and_map_whole(
    tmp_path: Path,
) -> None:
    """Found on attrs 26.1.0: a test compiles code with ``filename="__init__"``; coverage
    measured it as ``<root>/__init__``, which has no source, and its JSON report failed —
    no coverage, no selection map, the whole suite under coverage every cycle. The file is
    left out of the report (as ``coverage json -i`` does); the rest is measured, by reach
    too."""
    repo, base = project(tmp_path, GENERATED)
    assert base.coverage.num_statements > 0 and not base.problems, base.problems
    assert "__init__" not in (base.lines or {})
    new = {"pkg/m.py": M_NEW}
    reach = plan(repo, base, new)
    assert reach.usable, reach.fallback
    by_reach, whole = candidate(repo, reach, new)
    assert by_reach.coverage == whole.coverage and not whole.problems


SLOW_ELSEWHERE = {
    "tests/test_slow.py": """\
        import time

        from pkg.m import clamp


        def test_slow():
            time.sleep(4)
            assert clamp(1, 0, 9) == 1
        """,
}


def test_the_core_a_run_leaves_is_told_free_only_when_that_run_passed(tmp_path: Path) -> None:
    """``free`` (the caller's work for a passing candidate: the behaviour recording) is
    told once the traced reaching run has passed, before ``beside``; a candidate the
    traced run rejects never tells it, though the untraced run beside it then ends too
    (cancelled: no verdict, so no pass) — test_slow keeps it going past the rejection."""
    repo, base = project(tmp_path, SLOW_ELSEWHERE)
    new = {"pkg/m.py": M_NEW}
    reach = plan(repo, base, new)
    assert reach.usable, reach.fallback
    assert "tests/test_slow.py" not in " ".join(reach.args)
    sources = sorted(p.relative_to(repo).as_posix() for p in repo.glob("pkg/*.py"))
    told: list[str] = []

    def run() -> TestsReport:
        report = run_by_reach(
            PROBE, repo, reach, timeout=120, sources=sources,
            free=lambda: told.append("free"), beside=lambda: told.append("beside"),
        )  # fmt: skip
        assert isinstance(report, TestsReport)
        return report

    commit(repo, new)
    assert run().tests.stage == "full"
    assert told == ["free", "beside"]  # the untraced run passes later: told once
    told.clear()
    commit(repo, {"pkg/m.py": M_NEW.replace('return "negative"', 'return "neg"')})
    broken = run()
    assert broken.tests.stage == "selected", broken.tests
    assert told == []


SLOW_FIRST = {"tests/test_a_slow.py": SLOW_ELSEWHERE["tests/test_slow.py"]}


def test_a_traced_run_without_a_verdict_does_not_tell_free(tmp_path: Path) -> None:
    """A reaching test that ends the interpreter leaves the traced run no verdict: not a
    pass, so ``free`` waits for the untraced run, which test_a_slow (collected first) keeps
    going past the traced run's end — and which crashes too, so nobody tells it."""
    repo, base = project(tmp_path, SLOW_FIRST)
    new = {"pkg/m.py": M_NEW.replace('return "negative"', '__import__("os")._exit(3)')}
    reach = plan(repo, base, new)
    assert reach.usable, reach.fallback
    assert "tests/test_a_slow.py" not in " ".join(reach.args)
    sources = sorted(p.relative_to(repo).as_posix() for p in repo.glob("pkg/*.py"))
    commit(repo, new)
    told: list[str] = []
    report = run_by_reach(
        PROBE, repo, reach, timeout=120, sources=sources, free=lambda: told.append("free")
    )
    assert isinstance(report, Untraced), report  # fell back: the untraced run goes on
    assert told == []
    plain = report.job.join()
    assert plain is not None and plain.tests.failures == ("<session>",), plain
    assert told == []


def test_a_reaching_test_past_its_own_limit_fails_the_traced_run(tmp_path: Path) -> None:
    """The watchdog in the traced run: a reaching test whose body loops is stopped at its
    limit (here 2 s for any test) and is the run's failure; the untraced run beside it
    (test_a_slow first, 4 s) is cancelled, so the rejection comes well before either
    run could have ended by itself."""
    repo, base = project(tmp_path, SLOW_FIRST)
    new = {"pkg/m.py": M_NEW.replace('return "negative"', "while True:\n            n += 1")}
    reach = plan(repo, base, new)
    assert reach.usable, reach.fallback
    sources = sorted(p.relative_to(repo).as_posix() for p in repo.glob("pkg/*.py"))
    commit(repo, new)
    report = run_by_reach(
        PROBE, repo, reach, timeout=120, sources=sources,
        test_limits=TestLimits(tests={}, default=2.0),
    )  # fmt: skip
    assert isinstance(report, TestsReport), report
    tests = report.tests
    assert tests.stage == "selected" and not tests.timed_out, tests
    assert tests.failures == ("tests/test_classify.py::test_negative",), tests
    assert tests.first_failure.endswith("ran past its limit of 2 s"), tests
    assert any("ran past its own limit of 2 s" in p for p in report.problems), report.problems
