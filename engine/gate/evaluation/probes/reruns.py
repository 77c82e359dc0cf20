"""Where a failing test's flaky re-run runs: in a fork of its own session, else a new process.

A pytest run made with :func:`forked_reruns` loads the sandboxed ``ratchet_rerun`` plugin
(:mod:`engine.gate.evaluation.sandboxed.ratchet_rerun`): the session forks a waiting copy
of itself before its first test, and re-runs its failed tests in a fresh fork of that copy
as it ends — the state a new ``pytest <ids>`` process would start from, without paying for
that process (an interpreter, pytest's plugins and a collection: 0.25-0.5 s per re-run on
the machines here, most of a fail-fast rejection's time after the failing test). What the
plugin says is read back with :func:`read` (untrusted: strings only) and taken
by :meth:`~engine.gate.evaluation.probes.tests.TestsProbe.rerun_failures`, which re-runs in
a new process only the failures the plugin did not run (no file: it did not fork —
threads running, a large process, xdist workers — or the run died; a test it could not
map back to a JUnit node id). A run that changed code or configuration in its copy takes
nothing from its own forks: its re-runs happen in new processes, each checked, as before.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from engine.gate.evaluation.probes.junit import node_id
from engine.gate.evaluation.sandboxed import RERUN_ENV, RERUN_PLUGIN, on_path

RSS_SHARE = 4  # a session forks only while it holds under memory_mb / RSS_SHARE
RESULT = "reruns.json"
SPEC = "reruns-spec.json"


@dataclass(frozen=True)
class Forked:
    """The node ids the session's forks re-ran, and those of them that passed."""

    ran: frozenset[str]
    passed: frozenset[str]
    went_on: frozenset[str] = frozenset()  # passed again at once: the fail-fast run went on


def forked_reruns(
    out: Path,
    env: dict[str, str],
    *,
    rounds: int,
    seconds: float,
    memory_mb: int,
    known: Collection[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """pytest arguments and the environment (``env`` plus the plugin's) for a run whose
    re-runs fork; ``out`` must be writable in the sandbox and :data:`~engine.gate.
    evaluation.sandboxed.DIR` readable. ``known``: failures not to re-run (the baseline's,
    which a run goes on past). Nothing with ``rounds`` 0."""
    if rounds <= 0:
        return [], env
    spec = out / SPEC
    wanted = {
        "rounds": rounds,
        "out": str(out / RESULT),
        "seconds": seconds,
        "max_rss_mb": max(1, memory_mb // RSS_SHARE),
        "known": sorted(known),
    }
    spec.write_text(json.dumps(wanted), encoding="utf-8")
    return ["-p", RERUN_PLUGIN], {**on_path(env), RERUN_ENV: str(spec)}


def read(out: Path, root: Path) -> Forked | None:
    """What the run's forks re-ran (node ids relative to ``root``, as the JUnit file's);
    None: the plugin wrote nothing readable."""
    try:
        data = json.loads((out / RESULT).read_text(encoding="utf-8"))
        ran, passed = data["ran"], data["passed"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(ran, list) or not isinstance(passed, list):
        return None

    def ids(pairs: list[object]) -> frozenset[str]:
        return frozenset(
            node_id(p[0], p[1], root)
            for p in pairs
            if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
        )

    got = ids(ran)
    ok = ids(passed) & got
    went_on = data.get("went_on", [])
    return Forked(
        ran=got, passed=ok, went_on=ids(went_on) & ok if isinstance(went_on, list) else frozenset()
    )
