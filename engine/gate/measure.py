"""``SandboxMeasurer``: the cycle's Measurer, built on the evaluation package.

Baselines are measured in a detached worktree at the target tip and cached by commit
SHA together with everything else that changes the numbers (test command, sandbox mode,
limits, tool versions), so a cycle after a rejection does not pay for them again. A
baseline whose test run timed out is not cached: the next cycle measures it afresh.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine import __version__
from engine.errors import SandboxError
from engine.gate.evaluation.cache import BaselineCache, baseline_key
from engine.gate.evaluation.evaluator import Evaluator
from engine.gate.paths import is_protected, is_test_file
from engine.model import Directives, Metrics, to_data
from engine.records.layout import baseline_cache_dir
from engine.vcs import Repository


def measured_files(tracked: list[str]) -> list[str]:
    """Tracked files minus the records and configuration (protected, non-test paths).
    Probes choose within these (radon/bandit skip tests; ruff sees all Python)."""
    return [f for f in tracked if is_test_file(f) or not is_protected(f)]


class SandboxMeasurer:
    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator

    def _key(self, commit: str) -> str:
        return baseline_key(
            commit,
            self.evaluator.test_command,
            sandbox=self.evaluator.runner.mode,
            limits=json.dumps(to_data(self.evaluator.runner.limits), sort_keys=True),
            ratchet=__version__,
        )

    def baseline(self, repo: Repository, commit: str) -> Metrics:
        cache = BaselineCache(baseline_cache_dir(repo.state_dir))
        key = self._key(commit)
        cached = cache.get(key)
        if cached is not None:
            return cached
        name = f"baseline-{commit[:12]}-{os.getpid()}"
        worktree = repo.add_worktree(name, commit=commit, branch=None)
        try:
            metrics = self.evaluator.measure(
                worktree, measured_files(repo.ls_files(commit)), commit=commit
            )
        finally:
            repo.remove_worktree(worktree)
        if not metrics.tests.timed_out:
            cache.put(key, metrics)
        return metrics

    def candidate(self, checkout: Path, repo: Repository, commit: str) -> Metrics:
        return self.evaluator.measure(
            checkout, measured_files(repo.ls_files(commit)), commit=commit
        )


def make_measurer(directives: Directives) -> SandboxMeasurer:
    """The sandboxed measurer; refuses to exist when the sandbox cannot start, unless
    directives say ``sandbox: unsafe-none``."""
    from engine.gate.evaluation.evaluator import Evaluator
    from engine.gate.evaluation.sandbox import probe_sandbox

    if directives.sandbox == "bwrap":
        reason = probe_sandbox()
        if reason is not None:
            raise SandboxError(
                f"the bubblewrap sandbox cannot start ({reason}); ratchet will not run "
                "candidate code without it. Install it (Debian/Ubuntu: apt-get install "
                "bubblewrap) or, knowingly, set `sandbox: unsafe-none` in directives.yaml"
            )
    return SandboxMeasurer(Evaluator.from_directives(directives))
