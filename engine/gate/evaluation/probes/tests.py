"""Run the user's test command in the sandbox: test counts, coverage, flaky re-runs.

A pytest command (``pytest ...``, ``python -m pytest ...``) is run under the daemon's own
interpreter as::

    python -m coverage run --data-file=OUT/.coverage --source=CHECKOUT --omit=<test files> \\
        -m pytest <user args> [--no-cov] --junitxml=OUT/junit.xml -p no:cacheprovider

(``--no-cov`` when the project's configuration would turn pytest-cov on: ratchet measures
coverage itself; :func:`engine.gate.evaluation.probes.command.coverage_plugin_off`.)
with ``OUT`` a host temporary directory bound writable into the sandbox; ``coverage json``
then runs in the sandbox too (it reads candidate files) — with per-test contexts, inside
the test run itself, as its session ends (:mod:`engine.gate.evaluation.sandboxed.
ratchet_contexts`; a second sandboxed process only when that did not happen). Exit code 5
(no tests collected) is recorded, not treated as a failure of the probe.

Every run (and every re-run) works in a throwaway copy of the checkout
(:mod:`engine.gate.evaluation.scratch`): candidate code can never change the worktree whose
commit ratchet records. What the run changed in its copy is reported in
``TestMetrics.tampered`` for the guards; a re-run that changed its copy forgives nothing.

Any other command runs as typed and is judged by its exit code alone: 0 is
``passed=1, collected=1``; anything else is ``failed=1, collected=1`` with the command as
the failure id. Coverage stays empty.

The verdict of a run (counts, failure ids, a run without a verdict counted as one
``<session>`` error) is :mod:`engine.gate.evaluation.probes.verdict`'s.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.gate.evaluation import warm
from engine.gate.evaluation.probes import reruns, watchdog
from engine.gate.evaluation.probes.command import DEFAULT_TEST_COMMAND, TestCommand
from engine.gate.evaluation.probes.coverage_plugins import missing_plugin
from engine.gate.evaluation.probes.coverage_report import (
    LineCoverage,
    read_coverage_json,
    read_line_coverage,
)
from engine.gate.evaluation.probes.junit import JunitSummary, read_junit
from engine.gate.evaluation.probes.uncollected import no_tests_note
from engine.gate.evaluation.probes.verdict import (
    NO_TESTS_EXIT,
    SESSION_FAILURE,
    first_failure_of,
    forgive_flaky,
    output_tail,
    pytest_metrics,
)
from engine.gate.evaluation.process import RunResult
from engine.gate.evaluation.reach_limit import TestLimits
from engine.gate.evaluation.rewrites import RewriteCache, primed_copy
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.gate.evaluation.sandboxed import (
    CONTEXTS,
    CONTEXTS_KEEP_ENV,
    CONTEXTS_PLUGIN,
    CONTEXTS_REPORT_ENV,
    CONTEXTS_STOP_ENV,
    DIR,
    PLUGIN,
    on_path,
)
from engine.gate.evaluation.scratch import run_changes, scratch_copy, tree_state
from engine.gate.evaluation.scratchroot import scratch_dir
from engine.gate.evaluation.selection import TestMap, read_test_map
from engine.gate.testcmd import AUTO, ResolvedCommand, resolve
from engine.model import CoverageMetrics, TestMetrics

if TYPE_CHECKING:
    from engine.gate.evaluation.riding import Rider

REPORT_TIMEOUT = 300.0  # seconds for `coverage json`
ADDED_FILE = "added-doctests.json"  # the plugin lists the doctests it added here


@dataclass(frozen=True, kw_only=True)
class TestsReport:
    __test__ = False  # not a pytest class

    tests: TestMetrics = field(default_factory=TestMetrics)
    coverage: CoverageMetrics = field(default_factory=CoverageMetrics)
    flaky: tuple[str, ...] = ()  # failed, then passed on a re-run (already forgiven in tests)
    went_on: tuple[str, ...] = ()  # of those, passed at once: the fail-fast run went on past
    problems: tuple[str, ...] = ()  # e.g. the coverage report could not be produced
    lines: LineCoverage | None = None  # per-line coverage (None: not measured)
    test_map: TestMap | None = None  # file:line -> tests (None: not recorded)
    cancelled: bool = False  # stopped by the caller's ``cancel`` event: no verdict

    @classmethod
    def of_cancelled(cls, tests: TestMetrics) -> TestsReport:
        """The report of a run the caller's ``cancel`` event stopped."""
        return cls(tests=tests, problems=("the run was cancelled",), cancelled=True)


@dataclass(frozen=True, kw_only=True)
class TestsProbe:
    """Runs ``test_command`` in ``runner`` within ``timeout`` seconds (per run)."""

    __test__ = False  # not a pytest class

    runner: SandboxRunner
    test_command: str = DEFAULT_TEST_COMMAND
    timeout: float = 900.0
    flaky_reruns: int = 0  # re-runs of failing node ids before they count as failures
    rewrites: RewriteCache | None = None  # pytest's rewritten test modules, kept by content

    def copy(self, checkout: Path, dest: Path) -> Path:
        """A scratch copy of ``checkout`` at ``dest`` for a pytest run, its test modules'
        rewritten pycs primed (:mod:`engine.gate.evaluation.rewrites`)."""
        return primed_copy(checkout, dest, self.rewrites)

    def resolved(self, checkout: Path) -> ResolvedCommand:
        """The command that runs in ``checkout`` (``auto`` discovered; see engine.gate.testcmd)."""
        return resolve(self.test_command, checkout)

    def run(
        self,
        checkout: Path,
        *,
        timeout: float | None = None,
        doctest_modules: Sequence[str] = (),
        contexts: bool = False,
        tests: Sequence[str] = (),
        fail_fast: bool = False,
        cancel: threading.Event | None = None,
        on_failure: Callable[[TestMetrics], None] | None = None,
        collect_all: bool = False,
        only_doctests: bool = False,
        known_failures: Collection[str] = (),
        test_limits: TestLimits | None = None,
        rider: Rider | None = None,
    ) -> TestsReport:
        """Measure the checkout; failures may be re-run ``flaky_reruns`` times (see module).
        ``timeout`` replaces the probe's own for this run; with ``test_command: auto`` the
        doctests of ``doctest_modules`` (repo-relative paths) run too. ``contexts``: record
        which test ran which line (``TestsReport.test_map``, the cascade's selection map).
        ``tests``: run only these node ids / test files (the command's own test paths are
        dropped); ``fail_fast``: stop at the first failure (``-x``); ``cancel``: stop the
        run when set (see :func:`engine.gate.evaluation.process.run_captured`);
        ``on_failure``: told the run's metrics as soon as it has failed (before any re-run;
        ``<session>`` when it left no verdict). A fail-fast
        run that failed measures no coverage. ``collect_all`` (with ``tests`` and
        ``contexts``): collect the whole suite as configured — every test module imported,
        its import-time code traced — and run only ``tests`` (and added doctests).
        ``only_doctests`` (with ``tests`` naming modules): run the doctests of
        ``doctest_modules`` and nothing else those modules hold. ``known_failures`` (with
        ``fail_fast`` and ``contexts``): these ids fail without stopping the run (the
        contexts plugin's fail-fast replaces ``-x``), so a run whose only failures are
        known ones still measures its coverage. ``test_limits``: how long each test's body
        may run (``ratchet_watchdog``); one that runs past it ends the run, failing.
        ``rider``: the behaviour recording this run carries (a pytest run only;
        :mod:`engine.gate.evaluation.riding`), told the run's end whatever happens."""
        checkout = Path(checkout).resolve()
        resolved = self.resolved(checkout)
        command = TestCommand.parse(resolved.command)
        limit = self.timeout if timeout is None else timeout

        def said(tests: TestMetrics) -> TestMetrics:
            return dataclasses.replace(
                tests, time_limit=limit, command=resolved.command, command_reason=resolved.reason
            )

        if not command.is_pytest:
            plain = self._run_plain(checkout, command, limit, resolved.command)
            return TestsReport(tests=said(plain))
        with (
            warm.scratch(self.runner, "ratchet-tests-") as (tmp, ahead),
            _handing_over(rider, tmp / "out") as out,
        ):
            work = self.copy(checkout, tmp / "work")
            before = tree_state(work)
            extra, env, readable = self._probe_plugin(
                out, doctest_modules, command, work, only=only_doctests,
                record=rider.spec(work, out) if rider is not None else None,
            )  # fmt: skip
            if contexts:
                extra += ["-p", CONTEXTS_PLUGIN]
                outputs = [out / ".coverage", work, out / "map.json", out / "coverage.json"]
                env = on_path({**env, CONTEXTS_REPORT_ENV: json.dumps([str(o) for o in outputs])})
                readable = [DIR]
            # fail-fast past known failures, or past a failure that passes when re-run at
            # once in a fork, is the contexts plugin's; else plain ``-x``
            known = frozenset(known_failures if fail_fast and contexts else ())
            forking, env, more = self.forked_reruns(out, env, limit, known)
            extra += forking
            readable = readable or more
            if test_limits is not None:
                watching, env = watchdog.plugin(out, env, test_limits)
                extra += watching
                readable = [DIR]
            stop = _StopPast(out, known, plugin=bool(known or (forking and fail_fast and contexts)))
            if stop.plugin:
                env = {**env, CONTEXTS_STOP_ENV: str(stop.spec())}
            keep = bool(tests) and collect_all and contexts
            if keep:
                listed = out / "keep.json"
                listed.write_text(json.dumps([*tests, *doctest_modules]), encoding="utf-8")
                env = {**env, CONTEXTS_KEEP_ENV: str(listed)}
                tests = ()
            args = command.option_args(work) if tests else (command.pytest_args or ())
            argv = [
                sys.executable, "-m", "coverage", "run", f"--data-file={out / '.coverage'}",
                f"--source={work}", f"--omit={omit_patterns(work)}",
                "-m", "pytest", *args, *command.plugin_args(work, one_process=True), *extra,
                *(["-x"] if fail_fast and not stop.plugin else []),
                f"--junitxml={out / 'junit.xml'}", "-p", "no:cacheprovider", *tests,
            ]  # fmt: skip
            result = self.runner.run(
                argv, cwd=work, writable=[out], readable=readable, env=env, timeout=limit,
                cancel=cancel, warm=ahead,
            )  # fmt: skip
            if result.cancelled:  # nobody's verdict: neither its JUnit file nor its copy read
                return TestsReport.of_cancelled(said(pytest_metrics(result, None)))
            tampered = run_changes(before, tree_state(work))
            summary = read_junit(out / "junit.xml", work, added=_added(out))
            metrics = said(dataclasses.replace(pytest_metrics(result, summary), tampered=tampered))
            metrics, stopped = watchdog.verdict(out, metrics)
            forked = None if tampered else reruns.read(out, work)
            went_on = forked.went_on if forked is not None and stop.plugin else frozenset()
            told = tuple(f for f in metrics.failures if f not in went_on)
            if told and on_failure is not None:  # not the flaky ones it went on past
                on_failure(dataclasses.replace(metrics, failures=told))
            problems: tuple[str, ...] = ()
            coverage, lines, test_map = CoverageMetrics(), None, None
            if metrics.exit_code == NO_TESTS_EXIT and not (tests or keep):  # nothing to cover
                problems = (no_tests_note(work),)
            elif not (fail_fast and stop.stopped(told)):  # stopped: no coverage
                coverage, lines, problems, test_map = self._coverage(
                    work, out, result, limit, contexts
                )
            problems += _file_size_hit(out / ".coverage", self.runner.limits.file_size_mb)
            problems += stopped
            if SESSION_FAILURE in metrics.failures:  # coverage may not have started at all
                problems += missing_plugin(work, metrics.output_tail)
            flaky: tuple[str, ...] = ()
            # a known failure the run went on past is known: only the others are re-run
            rerun = [f for f in metrics.failures if f not in stop.known]
            if self.flaky_reruns > 0 and rerun and not metrics.timed_out and summary:
                # re-runs share the first run's copy, as they would have shared a worktree
                flaky = self.rerun_failures(
                    work, rerun, self.flaky_reruns, command=command, timeout=limit,
                    one_process=True, forked=forked,
                )  # fmt: skip
                metrics = forgive_flaky(metrics, summary, flaky)
        return TestsReport(
            tests=metrics,
            coverage=coverage,
            flaky=flaky,
            went_on=tuple(f for f in flaky if f in went_on),
            problems=problems,
            lines=lines,
            test_map=test_map,
        )

    def _probe_plugin(
        self,
        out: Path,
        modules: Sequence[str],
        command: TestCommand,
        work: Path,
        *,
        only: bool = False,
        record: dict[str, object] | None = None,
    ) -> tuple[list[str], dict[str, str], list[Path]]:
        """Extra pytest args, environment (for a run in ``work``) and readable paths that
        make the doctests of ``modules`` run (only for ``test_command: auto``); ``only``:
        every other collected item is deselected; ``record``: the recorder's spec
        (:mod:`engine.gate.evaluation.riding`), which loads the same plugin."""
        env = command.env_in(work)
        doctests = self.test_command.strip() == AUTO and bool(modules)
        if not doctests and record is None:
            return [], env, []
        from engine.gate.evaluation.behaviour import plugin_env
        from engine.gate.evaluation.sandboxed import DIR

        spec = out / "probe.json"
        wanted: dict[str, object] = {}
        if doctests:
            wanted = {
                "doctest_modules": list(modules),
                "added_out": str(out / ADDED_FILE),
                "only_doctests": only,
            }
        if record is not None:
            wanted["record"] = record
        spec.write_text(json.dumps(wanted), encoding="utf-8")
        return ["-p", PLUGIN], plugin_env(env, spec), [DIR]

    def forked_reruns(
        self, out: Path, env: dict[str, str], limit: float, known: Collection[str] = ()
    ) -> tuple[list[str], dict[str, str], list[Path]]:
        """Extra pytest args, environment and readable paths that make a pytest run's flaky
        re-runs fork (:mod:`engine.gate.evaluation.probes.reruns`), as
        :meth:`_probe_plugin` gives its plugin's; ``known`` failures are not re-run."""
        args, env = reruns.forked_reruns(
            out, env, rounds=self.flaky_reruns, seconds=limit,
            memory_mb=self.runner.limits.memory_mb, known=known,
        )  # fmt: skip
        return args, env, [DIR] if args else []

    def rerun_failures(
        self,
        checkout: Path,
        failures: Sequence[str],
        n: int,
        *,
        command: TestCommand | None = None,
        timeout: float | None = None,
        one_process: bool = False,
        forked: reruns.Forked | None = None,
    ) -> tuple[str, ...]:
        """Re-run only the failed node ids (without coverage) up to ``n`` times in
        ``checkout`` (a scratch copy: the re-runs write it); return those that passed on some
        re-run. Ids that are not ``path::name`` node ids are not re-run, and a re-run that
        changed code or configuration in ``checkout`` forgives nothing. ``one_process``: as
        the run that failed (:meth:`TestCommand.plugin_args`). ``forked``: what the run's
        own forks re-ran (:mod:`engine.gate.evaluation.probes.reruns`), taken as it is:
        only the other failures run again, in new processes."""
        checkout = Path(checkout).resolve()
        command = command or TestCommand.parse(self.resolved(checkout).command)
        limit = self.timeout if timeout is None else timeout
        recovered: list[str] = []
        if forked is not None:
            recovered = [f for f in failures if f in forked.passed]
            failures = [f for f in failures if f not in forked.ran]
        remaining = [f for f in failures if "::" in f and (checkout / f.split("::")[0]).is_file()]
        if not command.is_pytest:
            return tuple(recovered)
        for _ in range(n):
            if not remaining:
                break
            with scratch_dir("ratchet-rerun-") as tmp:
                junit = Path(tmp) / "junit.xml"
                before = tree_state(checkout)
                argv = [
                    sys.executable, "-m", "pytest", *command.option_args(checkout),
                    *command.plugin_args(checkout, one_process=one_process), *remaining,
                    f"--junitxml={junit}", "-p", "no:cacheprovider",
                ]  # fmt: skip
                self.runner.run(
                    argv,
                    cwd=checkout,
                    writable=[Path(tmp)],
                    env=command.env_in(checkout),
                    timeout=limit,
                )
                summary = read_junit(junit, checkout)
                if run_changes(before, tree_state(checkout)):
                    summary = None
            passed = set(summary.passed) if summary else set()
            recovered += [f for f in remaining if f in passed]
            remaining = [f for f in remaining if f not in passed]
        return tuple(recovered)

    def _run_plain(
        self, checkout: Path, command: TestCommand, timeout: float, text: str
    ) -> TestMetrics:
        with scratch_dir("ratchet-tests-") as tmp:
            work = scratch_copy(checkout, Path(tmp) / "work")
            before = tree_state(work)
            result = self.runner.run(
                list(command.argv), cwd=work, env=command.env_in(work), timeout=timeout
            )
            tampered = run_changes(before, tree_state(work))
        ok = result.ok
        return TestMetrics(
            passed=int(ok),
            failed=int(not ok),
            collected=1,
            duration=result.duration,
            exit_code=result.returncode,
            timed_out=result.timed_out,
            failures=() if ok else (text,),
            output_tail=output_tail(result),
            tampered=tampered,
            first_failure="" if ok else first_failure_of(JunitSummary(), result, self.test_command),
        )

    def _coverage(
        self, checkout: Path, out: Path, result: RunResult, limit: float, contexts: bool
    ) -> tuple[CoverageMetrics, LineCoverage | None, tuple[str, ...], TestMap | None]:
        """The run's coverage report, and with ``contexts`` its selection map (both read in
        the sandbox: the data file was written by candidate code)."""
        if result.timed_out:
            problem = "coverage: not measured (the test run timed out)"
            return CoverageMetrics(), None, (problem,), None
        report = out / "coverage.json"
        made = None  # None: the contexts plugin wrote the report and the map in the run
        if not (contexts and report.is_file() and (out / "map.json").is_file()):
            made = self._report(checkout, out, contexts, min(limit, REPORT_TIMEOUT))
            if made is None:
                return CoverageMetrics(), None, ("coverage: no data was collected",), None
        metrics = read_coverage_json(report, checkout)
        if metrics is None:
            if made is None:
                problem = "coverage: no report (the run's own report is unreadable)"
            else:
                said = " ".join((made.stdout + made.stderr).strip().splitlines()[-2:])[-200:]
                problem = f"coverage: no report ({made.returncode}: {said})"
            return CoverageMetrics(), None, (problem,), None
        lines = read_line_coverage(report, checkout)
        test_map = read_test_map(out / "map.json") if contexts and lines else None
        return metrics, lines, (), test_map

    def _report(
        self, checkout: Path, out: Path, contexts: bool, timeout: float
    ) -> RunResult | None:
        """``coverage json`` (with ``contexts``, the map too) of ``out``'s data in the
        sandbox, after combining the parallel data files the repo's config asked for
        (without its ``[paths]``: ``ratchet_contexts.combine``); None: no data was
        collected."""
        data, report = out / ".coverage", out / "coverage.json"
        # -P in each: the checkout's own modules cannot shadow coverage
        if any(out.glob(".coverage.*")):
            self.runner.run(
                [sys.executable, "-P", str(CONTEXTS), "--combine", str(data)],
                cwd=checkout, writable=[out], readable=[DIR], timeout=timeout,
            )  # fmt: skip
        if not data.exists():
            return None
        if contexts:
            return self.runner.run(
                [sys.executable, "-P", str(CONTEXTS), str(data), str(checkout),
                 str(out / "map.json"), str(report)],
                cwd=checkout, writable=[out], readable=[DIR], timeout=timeout,
            )  # fmt: skip
        return self.runner.run(
            [sys.executable, "-P", str(CONTEXTS), "--json", str(data), str(report)],
            cwd=checkout, writable=[out], readable=[DIR], timeout=timeout,
        )  # fmt: skip


FILE_SIZE_HINT = "limits.file_size_mb"


def _file_size_hit(data: Path, limit_mb: int) -> tuple[str, ...]:
    """Say so when the coverage data file reached the sandbox's file size limit: coverage
    could not write it whole (python packaging 26.4's 64,204 tests with per-test contexts
    wrote 307 MB against 256: "database disk image is malformed")."""
    try:
        size = data.stat().st_size
    except OSError:
        return ()
    if size < limit_mb * 1024 * 1024 * 0.98:
        return ()
    return (
        f"the coverage data file reached the sandbox's file size limit ({FILE_SIZE_HINT} = "
        f"{limit_mb} MB) and could not be written whole: raise {FILE_SIZE_HINT} in "
        "directives.yaml (per-test coverage of a large suite needs more)",
    )


def _added(out: Path) -> frozenset[str]:
    """The node ids of the doctests ratchet added to the run (written by its plugin inside
    the sandbox: untrusted, so only a list of strings is taken)."""
    try:
        listed = json.loads((out / ADDED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    if not isinstance(listed, list):
        return frozenset()
    return frozenset(x for x in listed if isinstance(x, str))


def omit_patterns(checkout: Path) -> str:
    """coverage ``--omit`` for test files under the checkout (``**/`` matches zero dirs too)."""
    names = ("tests/*", "test/*", "test_*.py", "*_test.py", "conftest.py")
    return ",".join(f"{checkout}/**/{name}" for name in names)


@dataclass(frozen=True)
class _StopPast:
    """A fail-fast run that goes on past ``known`` failures and past a failure that passes
    when re-run at once (the contexts plugin's ``RATCHET_CONTEXTS_STOP``, ``plugin``);
    without either, ``-x``."""

    out: Path
    known: frozenset[str]
    plugin: bool = False  # False: ``-x``, stopped by any failure

    def spec(self) -> Path:
        path = self.out / "stop.json"
        marker = str(self.out / "stopped")
        path.write_text(json.dumps({"known": sorted(self.known), "marker": marker}), "utf-8")
        return path

    def stopped(self, failures: Sequence[str]) -> bool:
        """Did the run stop before its end (a new failure, or the plugin says so)?"""
        new = any(f not in self.known for f in failures)
        return new or (self.out / "stopped").exists()


@contextmanager
def _handing_over(rider: Rider | None, out: Path) -> Iterator[Path]:
    """``out`` made, and the run's end told to ``rider`` (with ``out``) whatever happens,
    before the scratch directory holding it is removed."""
    out.mkdir(exist_ok=True)
    try:
        yield out
    finally:
        if rider is not None:
            rider.done(out)
