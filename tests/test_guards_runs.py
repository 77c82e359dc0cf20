"""Guards that read the runs, and the quarantine of failures the baseline shares."""

from __future__ import annotations

import pytest

from engine.gate.guards.quarantine import apply_quarantine
from engine.gate.guards.runs import find_fewer, find_more_skipped, find_tampered
from engine.model import Metrics, TestMetrics

A = "tests/test_a.py::test_a"
B = "tests/test_b.py::test_b"


def run(**fields: object) -> Metrics:
    return Metrics(tests=TestMetrics(**fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("baseline", "candidate", "touched", "quarantined", "failed", "exit_code", "refused"),
    [
        # failing on both -> quarantined, the candidate's run counts as green
        (
            run(failed=1, failures=(A,), exit_code=1),
            run(passed=3, failed=1, failures=(A,), exit_code=1),
            (),
            (A,),
            0,
            0,
            (),
        ),
        # a new failure next to the shared one stays the candidate's
        (
            run(failed=1, failures=(A,), exit_code=1),
            run(failed=2, failures=(A, B), exit_code=1),
            (),
            (A,),
            1,
            1,
            (),
        ),
        # the candidate touched the failing test's file: no quarantine
        (
            run(failed=1, failures=(A,), exit_code=1),
            run(failed=1, failures=(A,), exit_code=1),
            ("tests/test_a.py",),
            (),
            1,
            1,
            (A,),
        ),
        # a crashed session is never quarantined, nor are syntax problems
        (
            run(errors=1, failures=("<session>",), exit_code=2),
            run(errors=1, failures=("<session>",), exit_code=2),
            (),
            (),
            1,
            2,
            (),
        ),
        (
            run(errors=1, failures=("calc/x.py:3: SyntaxError",), exit_code=2),
            run(errors=1, failures=("calc/x.py:3: SyntaxError",), exit_code=2),
            (),
            (),
            1,
            2,
            (),
        ),
        # a timed-out run quarantines nothing
        (
            run(failed=1, failures=(A,), exit_code=1),
            run(failed=1, failures=(A,), timed_out=True),
            (),
            (),
            1,
            0,
            (),
        ),
        # an error (not a failure) on both sides is quarantined too
        (
            run(errors=1, failures=(A,), exit_code=1),
            run(errors=1, failures=(A,), exit_code=1),
            (),
            (A,),
            0,
            0,
            (),
        ),
    ],
    ids=["shared", "shared-plus-new", "touched", "session", "syntax", "timeout", "errors"],
)
def test_quarantine(
    baseline: Metrics,
    candidate: Metrics,
    touched: tuple[str, ...],
    quarantined: tuple[str, ...],
    failed: int,
    exit_code: int,
    refused: tuple[str, ...],
) -> None:
    result = apply_quarantine(baseline, candidate, touched)
    tests = result.candidate.tests
    assert result.ids == quarantined == tests.quarantined
    assert tests.failed + tests.errors == failed
    assert tests.exit_code == exit_code
    assert result.refused == refused
    assert result.outcome().passed
    assert result.baseline.tests.quarantined == quarantined
    if quarantined:
        assert all(q not in tests.failures for q in quarantined)
        assert "quarantined" in (result.note() or "")


@pytest.mark.parametrize(
    ("baseline", "candidate", "finder", "evidence"),
    [
        (run(collected=5), run(collected=4), find_fewer, ["collected 5 -> 4 tests"]),
        (run(collected=5), run(collected=6), find_fewer, []),
        (
            run(skipped=1),
            run(skipped=1, xfailed=1),
            find_more_skipped,
            ["skipped or xfailed 1 -> 2 tests"],
        ),
        (run(skipped=2), run(skipped=1), find_more_skipped, []),
        (
            run(tampered=("modified: out.txt",)),
            run(tampered=("modified: out.txt", "created: conftest.py", "symlink: h -> /root")),
            find_tampered,
            ["the test run created: conftest.py", "the test run symlink: h -> /root"],
        ),
    ],
)
def test_run_guards(
    baseline: Metrics, candidate: Metrics, finder: object, evidence: list[str]
) -> None:
    findings = finder(baseline, candidate)  # type: ignore[operator]
    assert [f.evidence for f in findings] == evidence


DOC = "calc/text.py::calc.text.half"


def test_a_doctest_failing_on_the_base_is_quarantined_in_a_touched_module() -> None:
    # the baseline never ran the touched module's doctests; the measurer ran them on the
    # base and found DOC failing there from a docstring the candidate left as it was
    candidate = run(failed=2, failures=(DOC, A), exit_code=1, doctests_failing_on_base=(DOC,))
    result = apply_quarantine(run(), candidate, ("calc/text.py",))
    assert result.ids == (DOC,) and result.refused == ()
    assert result.candidate.tests.failures == (A,) and result.candidate.tests.failed == 1
    assert DOC in (result.note() or "")
    # without that finding the same failure in a touched file stays the candidate's
    alone = run(failed=1, failures=(DOC,), exit_code=1)
    kept = apply_quarantine(run(failed=1, failures=(DOC,)), alone, ("calc/text.py",))
    assert kept.ids == () and kept.refused == (DOC,)
