"""The host's side of the per-test time limit (``ratchet_watchdog``, in the sandbox).

:func:`spec` writes the limits a run passes to the plugin; :func:`hung` reads back which
test, if any, ran past its limit (untrusted JSON written inside the sandbox: checked, and
ignored when malformed); :func:`failed` makes that test the run's failure. The run ended
at once with no report, so its other verdicts are unknown: the hung test is the one
failure a fail-fast run needs to reject. The limits themselves:
:func:`engine.gate.evaluation.reach_limit.per_test_limits`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from engine.gate.evaluation.probes.verdict import SESSION_FAILURE
from engine.gate.evaluation.reach_limit import TestLimits
from engine.gate.evaluation.sandboxed import WATCHDOG_ENV, WATCHDOG_PLUGIN, on_path
from engine.model import TestMetrics

SPEC_FILE = "watchdog.json"
MARKER_FILE = "hung.json"


@dataclass(frozen=True)
class Hung:
    """The test whose body ran past its limit of ``seconds``."""

    test: str
    seconds: float


def plugin(out: Path, env: dict[str, str], limits: TestLimits) -> tuple[list[str], dict[str, str]]:
    """The pytest arguments and environment that load the plugin with ``limits`` for a run
    writing to ``out`` (the sandbox must be given ``sandboxed.DIR`` to read)."""
    return ["-p", WATCHDOG_PLUGIN], on_path({**env, WATCHDOG_ENV: str(spec(out, limits))})


def verdict(out: Path, metrics: TestMetrics) -> tuple[TestMetrics, tuple[str, ...]]:
    """``metrics`` of a run writing to ``out``, and the notes: as they were when no test ran
    past its limit (or the run had no plugin: no marker); else :func:`failed`, and
    :func:`note`."""
    stopped = hung(out)
    if stopped is None:
        return metrics, ()
    return failed(metrics, stopped), (note(stopped),)


def spec(out: Path, limits: TestLimits) -> Path:
    """The plugin's spec for a run writing to ``out`` (its marker there too)."""
    path = out / SPEC_FILE
    marker = str(out / MARKER_FILE)
    data = {"tests": dict(limits.tests), "default": limits.default, "marker": marker}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def hung(out: Path) -> Hung | None:
    """The test the plugin stopped the run for, or None (none, or a malformed marker)."""
    try:
        data = json.loads((out / MARKER_FILE).read_text(encoding="utf-8"))
        test, seconds = data["test"], data["seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(test, str) or not test or not isinstance(seconds, int | float):
        return None
    if isinstance(seconds, bool) or not math.isfinite(seconds) or seconds < 0:
        return None
    return Hung(test=test, seconds=float(seconds))


def failed(metrics: TestMetrics, stopped: Hung) -> TestMetrics:
    """``metrics`` of the run the plugin ended, with ``stopped``'s test as its failure (in
    place of the no-verdict ``<session>`` its missing report gave)."""
    failures = tuple(f for f in metrics.failures if f not in (SESSION_FAILURE, stopped.test))
    failures += (stopped.test,)
    errors = metrics.errors - (SESSION_FAILURE in metrics.failures)
    return dataclasses.replace(
        metrics, failures=failures, failed=max(metrics.failed, len(failures)),
        errors=max(0, errors), exit_code=metrics.exit_code or 1,
        first_failure=f"{stopped.test}: ran past its limit of {stopped.seconds:g} s",
    )  # fmt: skip


def note(stopped: Hung) -> str:
    """What the record says of it."""
    return (
        f"{stopped.test} ran past its own limit of {stopped.seconds:g} s (max(floor, factor x "
        "its time on the baseline), docs/cycle.md): the run was ended, the test failed"
    )
