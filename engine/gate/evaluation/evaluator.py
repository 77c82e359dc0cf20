"""Measure a checkout: the evaluation cascade, cheapest stage first.

1. syntax: every listed ``*.py`` file must compile (host-side ``compile()``, nothing runs);
   if one does not, the tests are not run and count as errors (``exit_code`` 2, the code
   pytest uses for collection errors), with one ``path:line: message`` failure per file
   (``TestMetrics.stage`` ``"syntax"``);
2. the selected tests (``selection``: the tests that cover the change, chosen by the caller
   from the baseline's selection map, :mod:`engine.gate.evaluation.selection`), fail-fast,
   in the sandbox without coverage (:mod:`engine.gate.evaluation.probes.selected`); a new
   failure (not in ``known_failures``) or a timeout is the result (``stage`` ``"selected"``)
   and the full suite does not run. No selection: the stage is skipped;
3. the full suite. With a ``reach`` (the caller's plan, :mod:`engine.gate.evaluation.
   reach`): the whole suite untraced beside the tests that reach the change under coverage,
   the rest of the coverage and the next selection map carried over from the baseline
   (:mod:`engine.gate.evaluation.probes.reached`); otherwise, or when that falls back, the
   whole suite under coverage (:class:`TestsProbe`; after a fallback, beside the untraced
   run, whose new failure rejects at once: stage ``"untraced"``) — both with flaky re-runs
   and, with ``contexts``, the per-test contexts that make the next selection map; only this stage
   (``stage`` ``"full"``) can justify a merge (:func:`engine.gate.decision.judge` rejects
   any other). ``beside`` (the caller's behaviour replay) runs during this stage (after a
   by-reach fallback, once a run has passed: never for a rejection); by reach, ``free``
   (the caller's start of it) is told as soon as one of the two runs has passed, so that
   work starts on the core that run leaves free;
4. static probes on the host: radon (complexity), ruff (lint), bandit (security), each on
   the files ``static_cache`` has no result for (:mod:`engine.gate.evaluation.filecache`),
   in a thread from the start.

The static probes run even when the tests fail: they cost seconds, and leaving them at
their defaults (zero complexity, zero findings) would make a broken candidate look better.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engine.gate.evaluation.background import BEHIND, Background
from engine.gate.evaluation.cache import BaselineCache, baseline_key
from engine.gate.evaluation.filecache import FileCache
from engine.gate.evaluation.probes.command import DEFAULT_TEST_COMMAND
from engine.gate.evaluation.probes.complexity import ComplexityReport, measure_complexity
from engine.gate.evaluation.probes.coverage_report import LineCoverage
from engine.gate.evaluation.probes.lint import LintReport, measure_lint
from engine.gate.evaluation.probes.reached import Untraced, run_by_reach
from engine.gate.evaluation.probes.security import SecurityReport, measure_security
from engine.gate.evaluation.probes.selected import rejects, run_selected
from engine.gate.evaluation.probes.syntax import syntax_problems
from engine.gate.evaluation.probes.tests import TestsProbe, TestsReport
from engine.gate.evaluation.reach import Reach
from engine.gate.evaluation.reach_limit import TestLimits
from engine.gate.evaluation.rewrites import RewriteCache
from engine.gate.evaluation.riding import Rider
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.gate.evaluation.selection import TestMap
from engine.gate.paths import is_test_file, python_files
from engine.gate.timing import step
from engine.model import Directives, Limits, Metrics, TestMetrics, Timeouts

__all__ = ["BaselineCache", "Evaluator", "Measurement", "baseline_key"]

SYNTAX_EXIT = 2


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """Metrics plus what the numbers do not say (skipped files, tool problems, flaky tests)."""

    metrics: Metrics
    flaky: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    lines: LineCoverage | None = None  # per-line coverage of the test run (None: none)
    test_map: TestMap | None = None  # file:line -> tests of the full run (None: none)


@dataclass(frozen=True, kw_only=True)
class Evaluator:
    """Measures checkouts. ``limits``, when given, replaces ``runner.limits``."""

    runner: SandboxRunner
    test_command: str = DEFAULT_TEST_COMMAND
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits | None = None
    flaky_reruns: int = 1
    # per-file static results by blob id (engine.gate.evaluation.filecache); None: measure all
    static_cache: Path | None = None
    # pytest's rewritten test modules by content (engine.gate.evaluation.rewrites); None: none
    rewrite_cache: Path | None = None

    @classmethod
    def from_directives(cls, directives: Directives) -> Evaluator:
        runner = SandboxRunner(mode=directives.sandbox, limits=directives.limits)
        return cls(
            runner=runner,
            test_command=directives.test_command,
            timeouts=directives.timeouts,
            flaky_reruns=directives.flaky_reruns,
        )

    def measure(self, checkout: Path, files: Sequence[str], *, commit: str) -> Metrics:
        """Metrics of ``checkout``; ``files`` are its tracked files, repo-relative POSIX paths
        (non-``.py`` entries are ignored; test files are left out of radon and bandit)."""
        return self.evaluate(checkout, files, commit=commit).metrics

    def evaluate(
        self,
        checkout: Path,
        files: Sequence[str],
        *,
        commit: str,
        timeout: float | None = None,
        doctest_modules: Sequence[str] = (),
        selection: Sequence[str] = (),
        known_failures: Collection[str] = (),
        contexts: bool = False,
        reach: Reach | None = None,
        beside: Callable[[], None] | None = None,
        free: Callable[[], None] | None = None,
        test_limits: TestLimits | None = None,
        rider: Rider | None = None,
    ) -> Measurement:
        """Like :meth:`measure`, keeping the notes, flaky test ids and per-line coverage.
        ``timeout`` replaces ``timeouts.tests`` for the test runs; ``doctest_modules`` and
        ``contexts`` are passed to :meth:`TestsProbe.run`; ``selection`` and
        ``known_failures`` drive the cascade's second stage, ``reach`` its third (module
        doc). ``beside``: the caller's other checks, run once the change's own tests have
        passed, at the same time as the rest of the full stage (not after a rejection);
        ``free``: told when a run of the full stage by reach has passed (module doc);
        ``test_limits``: how long each test of the early runs (the selected tests, the
        traced reaching run) may take (``ratchet_watchdog``); ``rider``: the behaviour
        recording the traced reaching run carries (:mod:`engine.gate.evaluation.riding`;
        no other run does)."""
        start = time.monotonic()
        checkout = Path(checkout).resolve()
        # a listed file may be gone in this checkout (deleted by the candidate)
        py_files = [f for f in python_files(tuple(files)) if (checkout / f).is_file()]
        sources = [f for f in py_files if not is_test_file(f)]
        notes: list[str] = []

        cache = FileCache(self.static_cache) if self.static_cache is not None else None
        static = Background(  # beside everything: they run even when the tests fail
            lambda: _static_probes(checkout, sources, py_files, cache),
            name="ratchet-static",
            nice=BEHIND,  # the tests' verdict (a fail-fast rejection first) comes first
        )

        with step("syntax"):
            broken = syntax_problems(checkout, py_files, cache)
        if broken:
            probe = self.tests_probe()
            resolved = probe.resolved(checkout)
            failure = dataclasses.replace(
                _syntax_failure(broken),
                command=resolved.command,
                command_reason=resolved.reason,
                time_limit=probe.timeout if timeout is None else timeout,
            )
            report = TestsReport(tests=failure)
            notes.append(f"syntax check failed in {len(broken)} file(s): tests not run")
        else:
            stages = _Stages(
                selection, known_failures, reach, beside, sources, free, test_limits, rider
            )
            report = self._tests(checkout, timeout, doctest_modules, stages, contexts, notes)
            # an early rejection is said once, by the decision (engine.gate.decision.judge:
            # the stage and the failing ids), which the record takes these notes beside
            notes += report.problems
            if report.flaky:
                notes.append("flaky tests forgiven: " + ", ".join(report.flaky))

        complexity, lint, security = static.join()
        notes += [f"radon skipped {s}" for s in complexity.skipped]
        notes += lint.problems + security.problems
        metrics = Metrics(
            commit=commit,
            tests=report.tests,
            coverage=report.coverage,
            complexity=complexity.metrics,
            lint=lint.metrics,
            security=security.metrics,
            sandbox=self.runner.mode,
            seconds=time.monotonic() - start,
            notes=tuple(notes),
        )
        return Measurement(
            metrics=metrics,
            flaky=report.flaky,
            notes=tuple(notes),
            lines=report.lines,
            test_map=report.test_map,
        )

    def _tests(
        self,
        checkout: Path,
        timeout: float | None,
        doctest_modules: Sequence[str],
        stages: _Stages,
        contexts: bool,
        notes: list[str],
    ) -> TestsReport:
        """Stages 2 and 3: the selected tests, then (unless they reject) the full suite; by
        reach when the caller planned it and it applies, else under coverage whole."""
        probe = self.tests_probe()
        limit = probe.timeout if timeout is None else timeout
        reach = stages.reach
        if reach is not None and reach.usable:
            report = run_by_reach(
                probe, checkout, reach, timeout=limit, sources=stages.sources,
                known_failures=stages.known_failures, beside=stages.beside, free=stages.free,
                doctest_modules=doctest_modules, test_limits=stages.test_limits,
                rider=stages.rider,
            )  # fmt: skip
            if isinstance(report, TestsReport):
                if report.tests.stage == "full":
                    notes.append(
                        f"coverage measured on the {len(reach.args)} test(s) and test file(s) "
                        "reaching the change; the other tests' coverage carried over from the "
                        "baseline (docs/cycle.md)"
                        + (f"; the whole suite collected: {reach.collect}" if reach.collect else "")
                    )
                return report
            settled = report.settled(stages.known_failures) if report is not None else None
            if settled is not None:  # the untraced run already rejected: no coverage, no replay
                return settled
            notes.append("coverage by reach not usable here: the whole suite ran under coverage")
            if isinstance(report, Untraced):  # its untraced run goes on: it may reject first

                def whole(stop: threading.Event) -> TestsReport:
                    return probe.run(
                        checkout, timeout=timeout, doctest_modules=doctest_modules,
                        contexts=contexts, cancel=stop,
                    )  # fmt: skip

                with step("tests_coverage"):
                    return report.race(whole, stages.known_failures, stages.beside)
        elif reach is not None and reach.fallback:
            notes.append(f"the whole suite ran under coverage: {reach.fallback}")
        early = None
        if stages.selection:
            with step("tests_selected"):
                early = run_selected(
                    probe, checkout, stages.selection, timeout=limit,
                    test_limits=stages.test_limits,
                )  # fmt: skip
            if early is not None and rejects(early, stages.known_failures):
                return early
        with step("tests"), _beside(stages.beside):
            report = probe.run(
                checkout, timeout=timeout, doctest_modules=doctest_modules, contexts=contexts
            )
        if early is None:
            return report
        tests = dataclasses.replace(report.tests, selected=early.tests.selected)
        return dataclasses.replace(report, tests=tests)

    def tests_probe(self) -> TestsProbe:
        runner = self.runner
        if self.limits is not None:
            runner = dataclasses.replace(runner, limits=self.limits)
        return TestsProbe(
            runner=runner,
            test_command=self.test_command,
            timeout=self.timeouts.tests,
            flaky_reruns=self.flaky_reruns,
            rewrites=RewriteCache(self.rewrite_cache) if self.rewrite_cache else None,
        )


def _static_probes(
    checkout: Path, sources: list[str], py_files: list[str], cache: FileCache | None
) -> tuple[ComplexityReport, LintReport, SecurityReport]:
    """radon, ruff and bandit on the files ``cache`` has no result for; bandit (the
    slowest to start: ~0.5 s of imports for one file) in a thread of its own from the
    start, so a fail-fast rejection waits for the longest of them, not their sum."""

    def security() -> SecurityReport:
        with step("security"):
            return measure_security(checkout, sources, cache=cache)

    scan = Background(security, name="ratchet-security")  # as niced as this thread
    with step("complexity"):
        complexity = measure_complexity(checkout, sources, cache=cache)
    with step("lint"):
        lint = measure_lint(checkout, py_files, cache=cache)
    return complexity, lint, scan.join()


@dataclass(frozen=True)
class _Stages:
    selection: Sequence[str]
    known_failures: Collection[str]
    reach: Reach | None
    beside: Callable[[], None] | None
    sources: Sequence[str]
    free: Callable[[], None] | None = None
    test_limits: TestLimits | None = None
    rider: Rider | None = None


@contextmanager
def _beside(work: Callable[[], None] | None) -> Iterator[None]:
    """Run ``work`` in a thread (the caller's timing context) while the body runs."""
    if work is None:
        yield
        return
    job = Background(work, name="ratchet-beside")
    try:
        yield
    finally:
        job.join()


def _syntax_failure(problems: Sequence[str]) -> TestMetrics:
    return TestMetrics(
        stage="syntax",
        errors=len(problems),
        exit_code=SYNTAX_EXIT,
        failures=tuple(problems),
        output_tail="\n".join(problems[-40:]),
    )
