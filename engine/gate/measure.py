"""``SandboxMeasurer``: the cycle's Measurer, built on the evaluation package.

Baselines are measured in a detached worktree at the target tip and cached by content —
the tree of measured files, records left out (:func:`~engine.gate.evaluation.cache.
measured_tree`) — together with everything else that changes the numbers (test command,
sandbox mode, limits, tool versions), so a cycle after a rejection does not pay for them
again. A candidate's full run is stored under its own content key the same way (unless
extra doctests ran in it), so the tip a merge lands, which differs from the candidate only
in its records, finds its baseline cached. Every full run records per-test coverage
contexts: the selection map (file:line -> tests) cached with the metrics, from which a
candidate's changed lines select the tests that run first, fail-fast (the cascade,
:mod:`engine.gate.evaluation.evaluator`). The
static probes keep per-file results by blob id beside it (``static_cache_dir``), so a
candidate, and a baseline made of files already seen, only pay radon/ruff/bandit for the
files nobody measured yet. A
baseline whose test run timed out is not cached: the next cycle measures it afresh. The
baseline's per-line coverage is cached beside its metrics (never in a snapshot).

A candidate is measured against its base (the cycle passes it; else the commit's parent):

- its test run is killed at :func:`engine.gate.health.adaptive_timeout` of the base's
  duration, and with ``test_command: auto`` the doctests of every non-test module it
  touches run too; one of them that fails on the base too, from an unchanged docstring,
  is listed in ``TestMetrics.doctests_failing_on_base`` (quarantined; an early rejection
  it caused is evaluated again: :mod:`engine.gate.evaluation.base_doctests`);
- ``Metrics.diff_coverage``: the changed lines' coverage and the unpaddable coverage gain
  (:mod:`engine.gate.evaluation.diffcov`);
- ``Metrics.behaviour``: for goals that preserve behaviour (:func:`preserves_behaviour`),
  the baseline's recorded calls of every changed function replayed against the candidate
  (:mod:`engine.gate.evaluation.behaviour`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine import __version__
from engine.errors import SandboxError
from engine.gate.evaluation import scratchroot
from engine.gate.evaluation.base_doctests import BaseDoctests
from engine.gate.evaluation.behaviour import changed_functions
from engine.gate.evaluation.cache import BaselineCache, baseline_key, measured_tree
from engine.gate.evaluation.diffcov import FileChange, diff_coverage
from engine.gate.evaluation.evaluator import Evaluator, Measurement
from engine.gate.evaluation.generated import Generated, find_generated
from engine.gate.evaluation.probes.coverage_report import LineCoverage
from engine.gate.evaluation.reach import plan_reach
from engine.gate.evaluation.reach_limit import per_test_limits, reach_limit
from engine.gate.evaluation.recordings import RecordingCache, recording_key
from engine.gate.evaluation.sampling import recording_tests
from engine.gate.evaluation.selection import TestMap, select_tests
from engine.gate.health import adaptive_timeout
from engine.gate.paths import is_protected, is_test_file
from engine.gate.recording import BehaviourSession
from engine.gate.testcmd import AUTO
from engine.gate.timing import step
from engine.model import BehaviourMetrics, DiffCoverage, Directives, Goal, Metrics, to_data
from engine.records.layout import (
    baseline_cache_dir,
    doctest_cache_dir,
    recording_cache_dir,
    rewrite_cache_dir,
    static_cache_dir,
)
from engine.vcs import Repository

if TYPE_CHECKING:
    from engine.cycle.protocols import Measurer


def measured_files(tracked: list[str]) -> list[str]:
    """Tracked files minus the records and configuration (protected, non-test paths).
    Probes choose within these (radon/bandit skip tests; ruff sees all Python)."""
    return [f for f in tracked if is_test_file(f) or not is_protected(f)]


def preserves_behaviour(
    goal: Goal | None, default_provider: str = "auto", proposer: str | None = None
) -> bool:
    """``behaviour: preserve`` / ``off`` as the goal says; unset: preserve unless the plan
    is the ``ruff`` provider's, whose fixes are rewrites a linter proves equivalent. Whose
    plan it is: ``proposer`` (the provider that wrote it: a ``--plan`` file is
    ``scripted``, an ``auto`` goal's or a fallback's is the provider that answered), else
    the goal's provider or the directives' default."""
    if goal is None or goal.behaviour == "off":
        return False
    if goal.behaviour == "preserve":
        return True
    return (proposer or goal.provider or default_provider) != "ruff"


def file_changes(repo: Repository, base: str, head: str) -> list[FileChange]:
    """Every file changed from ``base`` to ``head`` with both texts (renames detected)."""
    changes = repo.changed_files(base, head)
    texts = repo.show_files(
        [(base, c.old_path or c.path) for c in changes if not c.status.startswith("A")]
        + [(head, c.path) for c in changes if not c.status.startswith("D")]
    )
    out = []
    for change in changes:
        old_path = change.old_path or change.path
        old = None if change.status.startswith("A") else texts.get((base, old_path))
        new = None if change.status.startswith("D") else texts.get((head, change.path))
        out.append(FileChange(path=change.path, old_path=old_path, old=old, new=new))
    return out


def doctest_candidates(changes: list[FileChange]) -> list[str]:
    """Touched non-test modules that hold doctest examples (``>>>``): collecting the others
    would only import them, and an import covers lines no test looked at."""
    return [
        c.path
        for c in changes
        if c.new is not None
        and c.path.endswith(".py")
        and not is_test_file(c.path)
        and ">>>" in c.new
    ]


@dataclass(frozen=True)
class Known:
    """What is known of one measured content: metrics, per-line coverage, selection map."""

    metrics: Metrics | None
    lines: LineCoverage | None
    test_map: TestMap | None


_scratch_names = itertools.count(1)


def scratch_name(kind: str, commit: str) -> str:
    """``<kind>-<sha12>-<pid>[-<k>]``: unique per process and call, so concurrent
    evaluations (``directives.workers``) never share a worktree directory."""
    k = next(_scratch_names)
    return f"{kind}-{commit[:12]}-{os.getpid()}" + (f"-{k}" if k > 1 else "")


class SandboxMeasurer:
    """Thread-safe: concurrent cycles (``directives.workers``) share one measurer; a
    baseline asked for by several of them at once is measured once (a lock per key)."""

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        default_provider: str = "auto",
        generated: Generated | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.default_provider = default_provider
        self.generated = generated  # None: found in each repository's working tree
        self._seen: dict[str, Known] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def warm_up(self) -> None:
        """Start the sandboxes the cycle's first test runs will take
        (:mod:`engine.gate.evaluation.warm`)."""
        from engine.gate.evaluation.warm import warm_up

        warm_up(self.evaluator.tests_probe().runner)

    def _key_lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def key(self, repo: Repository, commit: str) -> str:
        """The baseline cache key of ``commit``: its measured content (records left out,
        :func:`~engine.gate.evaluation.cache.measured_tree`) and the measuring setup."""
        digest = self._generated(repo).digest()
        return baseline_key(
            measured_tree(repo.ls_tree(commit)),
            self.evaluator.test_command,
            sandbox=self.evaluator.runner.mode,
            limits=json.dumps(to_data(self.evaluator.runner.limits), sort_keys=True),
            ratchet=__version__,
            **({"generated": digest} if digest else {}),
        )

    def _generated(self, repo: Repository) -> Generated:
        """The build's ignored files to carry (:mod:`engine.gate.evaluation.generated`)."""
        if self.generated is not None:
            return self.generated
        return find_generated(repo.root, repo.ignored)

    def baseline(self, repo: Repository, commit: str) -> Metrics:
        scratchroot.root()  # every cycle: killed runs' copies go now, cached baseline or not
        key = self.key(repo, commit)
        with self._key_lock(key):
            metrics = self._baseline(repo, commit, key)
        generated = self._generated(repo)
        lacking = generated.lacking(repo.ls_files(commit)) if generated.missing else ()
        if lacking:  # said with the broken baseline it makes (engine.gate.health)
            metrics = dataclasses.replace(metrics, notes=(*metrics.notes, *lacking))
        return metrics

    def _baseline(self, repo: Repository, commit: str, key: str) -> Metrics:
        cached = self._known(repo, key)
        if cached.metrics is not None:
            with step("baseline_cached"):
                pass  # a hit is visible in the timings
            return dataclasses.replace(cached.metrics, commit=commit)
        worktree = repo.add_worktree(scratch_name("baseline", commit), commit=commit, branch=None)
        try:
            self._generated(repo).write_into(worktree)
            measured = self._evaluator(repo).evaluate(
                worktree, measured_files(repo.ls_files(commit)), commit=commit, contexts=True
            )
        finally:
            repo.remove_worktree(worktree)
        self._store(repo, key, measured)
        return measured.metrics

    def _store(self, repo: Repository, key: str, measured: Measurement) -> None:
        """Remember a full run of the content ``key`` names; cache it unless it timed out."""
        metrics = measured.metrics
        tests = dataclasses.replace(metrics.tests, selected=0)
        metrics = dataclasses.replace(
            metrics, tests=tests, diff_coverage=DiffCoverage(), behaviour=BehaviourMetrics()
        )
        self._seen[key] = Known(metrics, measured.lines, measured.test_map)
        if not metrics.tests.timed_out:
            BaselineCache(baseline_cache_dir(repo.state_dir)).put(
                key, metrics, measured.lines, measured.test_map
            )

    def _evaluator(self, repo: Repository) -> Evaluator:
        """The evaluator with the repository's caches: the static probes run on the files no
        earlier measurement (baseline or candidate) has seen, and pytest's rewritten test
        modules are made once per content."""
        return dataclasses.replace(
            self.evaluator,
            static_cache=static_cache_dir(repo.state_dir),
            rewrite_cache=rewrite_cache_dir(repo.state_dir),
        )

    def _known(self, repo: Repository, key: str) -> Known:
        if key in self._seen:
            return self._seen[key]
        cache = BaselineCache(baseline_cache_dir(repo.state_dir))
        metrics = cache.get(key)
        if metrics is None:
            return Known(None, None, None)
        # kept: the candidate reads the baseline the cycle just read (click 8.5's 7 MB map
        # was parsed twice, 0.17 s more before the candidate's tests)
        known = self._seen[key] = Known(metrics, cache.lines(key), cache.test_map(key))
        return known

    def candidate(
        self,
        checkout: Path,
        repo: Repository,
        commit: str,
        *,
        base: str | None = None,
        goal: Goal | None = None,
        proposer: str | None = None,
    ) -> Metrics:
        """The candidate's metrics against ``base`` (default: the commit's parent); see the
        module doc for what depends on the base, the goal and ``proposer`` (the provider
        whose plan the commit is: :func:`preserves_behaviour`)."""
        base = base or repo.rev_parse(f"{commit}^")
        generated = self._generated(repo)
        generated.write_into(checkout)
        known = self._known(repo, self.key(repo, base)) if base else Known(None, None, None)
        timeout = adaptive_timeout(self.evaluator.timeouts, known.metrics)
        changes = file_changes(repo, base, commit) if base else []
        touched = doctest_candidates(changes)
        known_failures = known.metrics.tests.failures if known.metrics else ()
        doctests = self._base_doctests(repo, base, touched, changes, generated)
        forgiven = doctests.known(known_failures) if doctests is not None else ()
        with step("select"):
            selection = select_tests(changes, known.test_map)
            reach = plan_reach(
                changes,
                known.test_map,
                known.lines,
                known.metrics.coverage if known.metrics else None,
                selection=selection,
            )
        limit = reach_limit(
            self.evaluator.timeouts, known.metrics, reach, whole=timeout, doctest_modules=touched
        )
        reach = dataclasses.replace(reach, limit=limit)
        test_limits = per_test_limits(
            self.evaluator.timeouts, known.test_map, {*selection, *reach.args}
        )
        behaviour: list[BehaviourMetrics] = []
        replay = bool(base) and preserves_behaviour(goal, self.default_provider, proposer)
        functions = changed_functions(changes, Path(checkout)) if replay else []
        evaluator = self._evaluator(repo)
        session = None
        if functions and base:  # recorded on the base and replayed from now on, behind
            tests = recording_tests(functions, changes, known.test_map, reach.args)
            session = BehaviourSession(
                repo, base, scratch_name("record", base), functions, Path(checkout),
                probe=evaluator.tests_probe(), timeout=timeout, tests=tests,
                cache=RecordingCache(recording_cache_dir(repo.state_dir)),
                key=recording_key(self.key(repo, base), functions, tests), generated=generated,
                ride=reach.usable,
            )  # fmt: skip

        def check_behaviour() -> None:
            with step("behaviour"):
                assert session is not None
                behaviour.append(session.finish())

        def evaluate(forgiven: tuple[str, ...]) -> Measurement:
            return evaluator.evaluate(
                checkout,
                measured_files(repo.ls_files(commit)),
                commit=commit,
                timeout=timeout,
                doctest_modules=touched,
                selection=selection,
                known_failures=(*known_failures, *forgiven),
                contexts=True,
                reach=reach,
                beside=check_behaviour if session is not None else None,
                free=session.start if session is not None else None,
                test_limits=test_limits,
                rider=session.rider if session is not None else None,
            )

        try:
            measured = evaluate(forgiven)
            if doctests is not None and self._doctests_on_base:
                more = doctests.explain(
                    measured.metrics.tests.failures, (*known_failures, *forgiven),
                    evaluator.tests_probe(), scratch_name("doctests", doctests.base), timeout,
                )  # fmt: skip
                if more:
                    forgiven = (*forgiven, *more)
                    if measured.metrics.tests.stage != "full":  # they may have rejected it
                        measured = evaluate(forgiven)
        finally:
            if session is not None:
                session.close()
        ran = measured.metrics.tests
        settled = ran.stage == "full" and not ran.timed_out and "<session>" not in ran.failures
        if doctests is not None and self._doctests_on_base and settled:
            doctests.remember(self.key(repo, commit), ran.failures)
        if measured.metrics.tests.stage == "full" and not touched:
            # the same content measured as a baseline would give these numbers: the tip a
            # merge lands (this commit amended with its records) finds them cached
            self._store(repo, self.key(repo, commit), measured)
        full = measured.metrics.tests.stage == "full"  # an early rejection needs no replay
        with step("diff_coverage"):
            diffcov = diff_coverage(changes, known.lines, measured.lines)
        failing = set(measured.metrics.tests.failures)
        on_base = tuple(f for f in forgiven if f in failing)
        return dataclasses.replace(
            measured.metrics,
            tests=dataclasses.replace(measured.metrics.tests, doctests_failing_on_base=on_base),
            diff_coverage=diffcov,
            behaviour=behaviour[-1] if full and behaviour else BehaviourMetrics(),
        )

    @property
    def _doctests_on_base(self) -> bool:
        """Only ``test_command: auto`` adds doctests the baseline never ran."""
        return self.evaluator.test_command.strip() == AUTO

    def _base_doctests(
        self,
        repo: Repository,
        base: str | None,
        touched: list[str],
        changes: list[FileChange],
        generated: Generated,
    ) -> BaseDoctests | None:
        if not base or not touched:
            return None
        return BaseDoctests(
            repo=repo, base=base, key=self.key(repo, base), dir=doctest_cache_dir(repo.state_dir),
            modules=tuple(touched), changes=tuple(changes), generated=generated,
        )  # fmt: skip


def make_measurer(directives: Directives) -> Measurer:
    """The sandboxed measurer; refuses to exist when the sandbox cannot start, unless
    directives say ``sandbox: unsafe-none``. ``executor: {kind: ray}``: every evaluation a
    Ray task, sandboxed on its worker (:mod:`engine.gate.executor.ray`)."""
    from engine.gate.evaluation.evaluator import Evaluator
    from engine.gate.evaluation.sandbox import probe_sandbox

    if directives.executor.kind == "ray":
        from engine.gate.executor.ray import RayMeasurer, import_ray

        import_ray()  # missing: the error says how to install it
        return RayMeasurer(directives)
    if directives.sandbox == "bwrap":
        reason = probe_sandbox()
        if reason is not None:
            raise SandboxError(
                f"the bubblewrap sandbox cannot start ({reason}); ratchet will not run "
                "candidate code without it. Install it (Debian/Ubuntu: apt-get install "
                "bubblewrap) or, knowingly, set `sandbox: unsafe-none` in directives.yaml"
            )
    return SandboxMeasurer(
        Evaluator.from_directives(directives), default_provider=directives.provider.name
    )
