"""The full stage by reach: the whole suite untraced beside the reaching tests traced.

Two sandboxed runs at once, each in its own throwaway copy of the checkout:

- the **verdict**: the test command as configured, the whole suite in one process, without
  coverage (:func:`~engine.gate.evaluation.probes.selected.run_untraced`) — what a user's
  own run would say, with the usual flaky re-runs;
- the **coverage**: the tests that reach the change (:func:`~engine.gate.evaluation.reach.
  plan_reach`, the selection first), fail-fast, under coverage with per-test contexts —
  out of the whole collection when a changed function also runs at import or collection
  time (``Reach.collect``).

A new failure or a timeout of the traced run rejects at once (its limit: the reaching
tests' own, :mod:`~engine.gate.evaluation.reach_limit`, when the map knows what they
took on the baseline): the untraced run is cancelled and the result is a
``"selected"``-stage rejection, like the cascade's early stage. The other way round, an
untraced run that ends first in a failure the traced run does not run (a change that breaks
the package at import time ends its collection at once, while the traced run collects under
coverage; a failing reaching test is left to the traced run) cancels the traced run, and
its rejection (stage ``"untraced"``) is the result. Otherwise ``beside``
(the caller's other checks) runs while the untraced run goes on, and the result is the
untraced verdict (stage ``"full"``) with the coverage and the next selection map carried
over from the baseline for every test that did not reach the change
(:func:`~engine.gate.evaluation.reach.carry_lines`).

None means "measure the whole suite under coverage instead": the test command is not
pytest. :class:`Untraced` means the same, with the untraced run still going: the traced
run produced no coverage (a collection error, a conftest that no longer imports) or none
of a file changed inside functions (whose statements it must name), or a failure in it was
forgiven as flaky after fail-fast stopped it (so the tests after it were not traced; one
that passed when re-run at once, in a fork of the session, did not stop it). A failure
the baseline had too does not stop the traced run (``TestsProbe.run(known_failures=)``):
its coverage stands. :meth:`Untraced.race` then runs the whole suite under coverage beside it, and
a new failure of the untraced run cancels that run and rejects (stage ``"untraced"``): a
candidate whose tests cannot even be collected is rejected in one suite's time, not two.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.gate.evaluation.background import Background
from engine.gate.evaluation.probes.command import TestCommand
from engine.gate.evaluation.probes.selected import STAGE, rejects, run_untraced
from engine.gate.evaluation.probes.tests import TestsProbe, TestsReport
from engine.gate.evaluation.reach import Reach, carry_lines, carry_map, line_totals
from engine.gate.evaluation.reach_limit import TestLimits
from engine.gate.timing import step
from engine.model import TestMetrics

if TYPE_CHECKING:
    from engine.gate.evaluation.riding import Rider

UNTRACED = "untraced"  # the stage of a rejection by the untraced whole suite (may only reject)


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
    free: Callable[[], None] | None = None,
    test_limits: TestLimits | None = None,
    rider: Rider | None = None,
) -> TestsReport | Untraced | None:
    """The full stage of ``checkout`` by ``reach`` (module doc); ``sources``: the
    candidate's non-test Python files (the files its coverage is reported for);
    ``doctest_modules``: modules whose doctests the traced run adds (they reach the change
    by definition: the untraced run, as the user runs it, does not have them); ``free``:
    told (once) when either run has passed (a core left free for the caller's work that only
    a passing candidate needs: not while a breaking one's tests race, nor after a traced run
    that left no verdict); ``test_limits``: how long each test of the traced run may take
    (:func:`engine.gate.evaluation.reach_limit.per_test_limits`); ``rider``: the behaviour
    recording the traced run carries (:mod:`engine.gate.evaluation.riding`)."""
    if not TestCommand.parse(probe.resolved(checkout).command).is_pytest:
        return None  # decided before anything runs: ``beside`` runs once, here or later
    cancel = threading.Event()
    stop_traced = threading.Event()
    free = _once(free)

    def untraced() -> TestsReport | None:
        with step("tests"):
            plain = run_untraced(probe, checkout, (), timeout=timeout, cancel=cancel)
        if plain is not None and _beyond(plain, reach.args, known_failures):
            # it rejects for what the traced run does not run (a collection broken at
            # import time ends it at once): the traced run is nobody's verdict any more
            stop_traced.set()
        elif free is not None and plain is not None and passed(plain, known_failures):
            free()
        return plain

    def failed(tests: TestMetrics) -> None:
        # a failure that rejects ends the untraced run; no verdict (``<session>``) or a
        # known failure leaves it going: its own verdict may be needed (Untraced)
        if rejects(TestsReport(tests=tests), known_failures):
            cancel.set()

    job = Background(untraced, name="ratchet-untraced")
    handed = False  # the untraced run was handed to the caller (still running)
    try:
        limit = timeout if reach.limit is None else min(timeout, reach.limit)
        with step("tests_reach"):
            traced = probe.run(
                checkout, timeout=limit, contexts=True, tests=reach.args, fail_fast=True,
                on_failure=failed, doctest_modules=doctest_modules,
                collect_all=bool(reach.collect), known_failures=known_failures,
                cancel=stop_traced, test_limits=test_limits, rider=rider,
            )  # fmt: skip
        if traced.cancelled:  # the untraced run rejected first: its report is ready
            handed = True
            job.join()
            return Untraced(job=job, cancel=cancel)
        if rejects(traced, known_failures):
            cancel.set()
            tests = dataclasses.replace(traced.tests, stage=STAGE, selected=len(reach.args))
            problems = traced.problems
            if traced.tests.timed_out and limit < timeout:
                problems += (
                    f"the tests reaching the change were killed after {limit:g} s: their own "
                    f"limit (the whole suite's is {timeout:g} s; docs/cycle.md)",
                )
            return dataclasses.replace(
                traced, tests=tests, lines=None, test_map=None, problems=problems
            )
        # the files coverage reports: the sources, and what the baseline measured beside
        # them that is still there (setup.py: protected, so not a source, but counted)
        present = {*sources, *(p for p in reach.base_lines if (checkout / p).is_file())}
        lines = carry_lines(reach, traced.lines, present) if traced.lines is not None else None
        unknown = any(f not in known_failures for f in traced.tests.failures)
        # a flaky failure it went on past (re-run at once) leaves the tests after it traced
        stopped_flaky = set(traced.flaky) - set(traced.went_on)
        if stopped_flaky or lines is None or unknown:
            # no pass to go on (no verdict, a flaky stop, no coverage): the untraced run
            # tells ``free`` if it passes
            handed = True
            return Untraced(job=job, cancel=cancel)
        if free is not None:
            free()  # its core is free: the caller's work starts beside the untraced run
        if beside is not None:
            beside()
    except BaseException:
        cancel.set()
        raise
    finally:
        plain = None if handed else job.join()
    assert plain is not None  # None only for a non-pytest command, refused before anything ran
    tampered = tuple(dict.fromkeys(plain.tests.tampered + traced.tests.tampered))
    tests = dataclasses.replace(
        _with_doctests(plain.tests, traced.tests, doctest_modules),
        tampered=tampered,
        selected=len(reach.args),
        doctests_added=traced.tests.doctests_added,
    )
    return TestsReport(
        tests=tests,
        coverage=line_totals(lines),
        flaky=tuple(dict.fromkeys(plain.flaky + traced.flaky)),
        problems=plain.problems + traced.problems,
        lines=lines,
        test_map=carry_map(reach, traced.test_map),
    )


def _with_doctests(
    plain: TestMetrics, traced: TestMetrics, doctest_modules: Sequence[str]
) -> TestMetrics:
    """The untraced verdict with the added doctests' failures (known ones: the traced run
    went on past them) that only the traced run ran, as a whole run would count them."""
    modules = set(doctest_modules)
    extra = tuple(
        f for f in traced.failures if f not in plain.failures and f.split("::", 1)[0] in modules
    )
    if not extra:
        return plain
    return dataclasses.replace(
        plain,
        failed=plain.failed + len(extra),
        failures=plain.failures + extra,
        exit_code=plain.exit_code or 1,
    )


@dataclass(frozen=True)
class Untraced:
    """The untraced whole suite, still running, of a by-reach run that fell back."""

    job: Background[TestsReport | None]
    cancel: threading.Event

    def settled(self, known_failures: Collection[str]) -> TestsReport | None:
        """The untraced run's rejection when it has already ended in one, else None."""
        if not self.job.done():
            return None
        plain = self.job.join()
        return _untraced(plain) if plain is not None and fails(plain, known_failures) else None

    def race(
        self,
        whole: Callable[[threading.Event], TestsReport],
        known_failures: Collection[str],
        beside: Callable[[], None] | None = None,
    ) -> TestsReport:
        """``whole(stop)`` (the whole suite under coverage, stopped when ``stop`` is set)
        beside the untraced run: the untraced run's verdict when it rejects first (stage
        ``"untraced"``), else ``whole``'s report (the untraced run is then cancelled).
        ``beside`` (the caller's work for a passing candidate) runs once a run has passed:
        as soon as the untraced one has, else after ``whole`` when it did; never for a
        rejection."""
        settled = self.settled(known_failures)
        if settled is not None:
            return settled
        stop = threading.Event()
        ran: list[bool] = []

        def watch() -> TestsReport | None:
            plain = self.job.join()
            if plain is not None and fails(plain, known_failures):
                stop.set()
            elif plain is not None and passed(plain, known_failures) and beside is not None:
                ran.append(True)
                beside()
            return plain

        watcher = Background(watch, name="ratchet-untraced-watch")
        try:
            report = whole(stop)
        finally:
            self.cancel.set()
            plain = watcher.join()
        if report.cancelled and plain is not None and fails(plain, known_failures):
            return _untraced(plain)
        if beside is not None and not ran and passed(report, known_failures):
            beside()
        return report


def _untraced(plain: TestsReport) -> TestsReport:
    return dataclasses.replace(plain, tests=dataclasses.replace(plain.tests, stage=UNTRACED))


def _beyond(plain: TestsReport, reaching: Sequence[str], known_failures: Collection[str]) -> bool:
    """Does the untraced run reject for a failure outside the ``reaching`` node ids and test
    files (``<session>``, a collection error, a test that does not reach the change)? A
    failure of a reaching test is left to the traced run, which rejects with it itself."""
    if not fails(plain, known_failures):
        return False
    new = [f for f in plain.tests.failures if f not in known_failures]
    return plain.tests.timed_out or any(
        not any(f == r or f.startswith(f"{r}::") for r in reaching) for f in new
    )


def _once(fn: Callable[[], None] | None) -> Callable[[], None] | None:
    """``fn``, called at most once from any thread."""
    if fn is None:
        return None
    lock = threading.Lock()
    called: list[bool] = []

    def once() -> None:
        with lock:
            if called:
                return
            called.append(True)
        fn()

    return once


def passed(report: TestsReport, known_failures: Collection[str]) -> bool:
    """Did a whole-suite run end with a verdict that does not reject (not cancelled)?"""
    return not report.cancelled and not fails(report, known_failures)


def fails(report: TestsReport, known_failures: Collection[str]) -> bool:
    """Did a whole-suite run fail in a way the baseline did not (a timeout, a new failing
    id, ``<session>`` included: no verdict where the baseline had one)? A cancelled run
    did not."""
    tests = report.tests
    if report.cancelled:
        return False
    if tests.timed_out:
        return True
    return any(f not in known_failures for f in tests.failures)
