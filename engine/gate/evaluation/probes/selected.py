"""The cascade's second stage: the tests that cover the change, fail-fast, no coverage.

Runs ``python -m pytest <the user's options> -x <selection> --junitxml=...`` in the sandbox,
in a throwaway copy of the checkout like the full run (:mod:`engine.gate.evaluation.probes.
tests`), with the same flaky re-runs. Its result may only reject (:func:`rejects`): it is a
rejection when a selected test failed that does not fail on the baseline, or the run timed
out (the full suite runs the same tests and more under the same limit). Anything else — all
passed, only known failures, or no verdict (a selected id that no longer exists makes
pytest exit 4) — falls through to the full run.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Collection, Sequence
from pathlib import Path

from engine.gate.evaluation import warm
from engine.gate.evaluation.probes import reruns, watchdog
from engine.gate.evaluation.probes.command import TestCommand
from engine.gate.evaluation.probes.junit import read_junit
from engine.gate.evaluation.probes.tests import TestsProbe, TestsReport
from engine.gate.evaluation.probes.verdict import SESSION_FAILURE, forgive_flaky, pytest_metrics
from engine.gate.evaluation.reach_limit import TestLimits
from engine.gate.evaluation.sandboxed import DIR
from engine.gate.evaluation.scratch import run_changes, tree_state

STAGE = "selected"


def run_selected(
    probe: TestsProbe,
    checkout: Path,
    selection: Sequence[str],
    *,
    timeout: float,
    test_limits: TestLimits | None = None,
) -> TestsReport | None:
    """Run the selected tests (node ids or test files) of ``checkout``, each within its
    ``test_limits``; None when the test command is not pytest (nothing can be selected)."""
    if not selection:
        return None
    return run_untraced(probe, checkout, selection, timeout=timeout, test_limits=test_limits)


def run_untraced(
    probe: TestsProbe,
    checkout: Path,
    selection: Sequence[str] = (),
    *,
    timeout: float,
    cancel: threading.Event | None = None,
    test_limits: TestLimits | None = None,
) -> TestsReport | None:
    """pytest without coverage in the sandbox, with flaky re-runs: the ``selection`` (node
    ids or test files) fail-fast, stage ``"selected"``; no selection: the whole command as
    configured, stage ``"full"``. None when the test command is not pytest."""
    checkout = Path(checkout).resolve()
    resolved = probe.resolved(checkout)
    command = TestCommand.parse(resolved.command)
    if not command.is_pytest:
        return None
    prefix = "ratchet-selected-" if selection else "ratchet-untraced-"
    with warm.scratch(probe.runner, prefix) as (tmp, ahead):
        out = tmp / "out"
        out.mkdir(exist_ok=True)
        work = probe.copy(checkout, tmp / "work")
        before = tree_state(work)
        whole = list(command.pytest_args or ())
        args = [*command.option_args(work), "-x"] if selection else whole
        plugins, env, readable = probe.forked_reruns(out, command.env_in(work), timeout)
        if test_limits is not None:
            watching, env = watchdog.plugin(out, env, test_limits)
            plugins, readable = [*plugins, *watching], [DIR]
        argv = [
            sys.executable, "-m", "pytest", *args, *command.plugin_args(work), *plugins,
            f"--junitxml={out / 'junit.xml'}", "-p", "no:cacheprovider", *selection,
        ]  # fmt: skip
        result = probe.runner.run(
            argv,
            cwd=work,
            writable=[out],
            readable=readable,
            env=env,
            timeout=timeout,
            cancel=cancel,
            warm=ahead,
        )
        summary = None if result.cancelled else read_junit(out / "junit.xml", work)
        # a cancelled run is nobody's verdict: what it changed in its copy is not read
        tampered = () if result.cancelled else run_changes(before, tree_state(work))
        tests = dataclasses.replace(
            pytest_metrics(result, summary),
            tampered=tampered,
            time_limit=timeout,
            command=resolved.command,
            command_reason=resolved.reason,
            stage=STAGE if selection else "full",
            selected=len(selection),
        )
        if result.cancelled:
            return TestsReport.of_cancelled(tests)
        tests, stopped = watchdog.verdict(out, tests)
        flaky: tuple[str, ...] = ()
        if probe.flaky_reruns > 0 and tests.failures and not tests.timed_out and summary:
            flaky = probe.rerun_failures(
                work, tests.failures, probe.flaky_reruns, command=command, timeout=timeout,
                forked=None if tampered else reruns.read(out, work),
            )  # fmt: skip
            tests = forgive_flaky(tests, summary, flaky)
    return TestsReport(tests=tests, flaky=flaky, problems=stopped)


def rejects(report: TestsReport | None, known_failures: Collection[str]) -> tuple[str, ...]:
    """The failing test ids that make this stage a rejection (see module doc); () when it
    is not one. A timeout rejects with ``<session>``."""
    if report is None:
        return ()
    tests = report.tests
    if tests.timed_out:
        return (SESSION_FAILURE,)
    return tuple(f for f in tests.failures if f != SESSION_FAILURE and f not in known_failures)
