"""The full stage by reach: the whole suite untraced beside the reaching tests traced.

Two sandboxed runs at once, each in its own throwaway copy of the checkout:

- the **verdict**: the test command as configured, the whole suite in one process, without
  coverage (:func:`~engine.gate.evaluation.probes.selected.run_untraced`) — what a user's
  own run would say, with the usual flaky re-runs;
- the **coverage**: the tests that reach the change (:func:`~engine.gate.evaluation.reach.
  plan_reach`, the selection first), fail-fast, under coverage with per-test contexts.

A new failure or a timeout of the traced run rejects at once: the untraced run is
cancelled and the result is a ``"selected"``-stage rejection, like the cascade's early
stage. Otherwise ``beside`` (the caller's other checks) runs while the untraced run goes
on, and the result is the untraced verdict (stage ``"full"``) with the coverage and the
next selection map carried over from the baseline for every test that did not reach the
change (:func:`~engine.gate.evaluation.reach.carry_lines`).

None means "measure the whole suite under coverage instead": the test command is not
pytest, the traced run produced no coverage (or none of a file changed inside functions,
whose statements it must name), or a failure in it was forgiven as flaky (``-x`` stopped
it, so the tests after it were not traced).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from engine.gate.evaluation.background import Background
from engine.gate.evaluation.probes.command import TestCommand
from engine.gate.evaluation.probes.selected import STAGE, rejects, run_untraced
from engine.gate.evaluation.probes.tests import TestsProbe, TestsReport
from engine.gate.evaluation.reach import Reach, carry_lines, carry_map, line_totals
from engine.gate.timing import step


def run_by_reach(
    probe: TestsProbe,
    checkout: Path,
    reach: Reach,
    *,
    timeout: float,
    sources: Collection[str],
    known_failures: Collection[str] = (),
    beside: Callable[[], None] | None = None,
    doctest_modules: Sequence[str] = (),
) -> TestsReport | None:
    """The full stage of ``checkout`` by ``reach`` (module doc); ``sources``: the
    candidate's non-test Python files (the files its coverage is reported for);
    ``doctest_modules``: modules whose doctests the traced run adds (they reach the change
    by definition: the untraced run, as the user runs it, does not have them)."""
    if not TestCommand.parse(probe.resolved(checkout).command).is_pytest:
        return None  # decided before anything runs: ``beside`` runs once, here or later
    cancel = threading.Event()

    def untraced() -> TestsReport | None:
        with step("tests"):
            return run_untraced(probe, checkout, (), timeout=timeout, cancel=cancel)

    job = Background(untraced, name="ratchet-untraced")
    try:
        with step("tests_reach"):
            traced = probe.run(
                checkout, timeout=timeout, contexts=True, tests=reach.args, fail_fast=True,
                on_failure=cancel.set, doctest_modules=doctest_modules,
            )  # fmt: skip
        if rejects(traced, known_failures):
            cancel.set()
            tests = dataclasses.replace(traced.tests, stage=STAGE, selected=len(reach.args))
            return dataclasses.replace(traced, tests=tests, lines=None, test_map=None)
        lines = carry_lines(reach, traced.lines, sources) if traced.lines is not None else None
        if traced.flaky or lines is None or traced.tests.failures:
            cancel.set()
            return None
        if beside is not None:
            beside()
    except BaseException:
        cancel.set()
        raise
    finally:
        plain = job.join()
    assert plain is not None  # None only for a non-pytest command, refused before anything ran
    tampered = tuple(dict.fromkeys(plain.tests.tampered + traced.tests.tampered))
    tests = dataclasses.replace(
        plain.tests,
        tampered=tampered,
        selected=len(reach.args),
        doctests_added=traced.tests.doctests_added,
    )
    return TestsReport(
        tests=tests,
        coverage=line_totals(lines),
        flaky=plain.flaky,
        problems=plain.problems + traced.problems,
        lines=lines,
        test_map=carry_map(reach, traced.test_map),
    )
