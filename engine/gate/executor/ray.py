"""``RayMeasurer``: the cycle's Measurer with every evaluation a Ray task on a cluster.

The daemon side keeps the decision and the merge; this only ships commits and brings back
metrics. A baseline's history travels once per baseline (put in the object store, then
referenced by every job on it); a candidate travels as a thin bundle ``base..candidate``.
Each task asks Ray for one CPU, so a cluster runs as many evaluations at once as it has
CPUs; ``directives.workers`` decides how many the daemon asks for at once.

The engine package itself is shipped with the jobs (Ray ``py_modules``), so workers run
exactly the daemon's gate code; they need ratchet's dependencies, git, bubblewrap and the
project's test dependencies installed (docs/scale.md).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from engine.errors import SandboxError
from engine.gate.evaluation.generated import find_generated
from engine.gate.executor import RAY_INSTALL
from engine.gate.executor.job import Job, run_job
from engine.model import Directives, Goal, Metrics
from engine.vcs import Repository
from engine.vcs.bundles import write_bundle

# Set on the daemon, passed to every task: where workers keep their repositories.
_FORWARDED = ("RATCHET_WORKER_DIR",)


def import_ray() -> Any:
    """The ``ray`` module, or SandboxError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise SandboxError(
            f"directives.yaml executor.kind is 'ray' but Ray is not installed: {RAY_INSTALL} "
            "(or set 'executor: {kind: local}')"
        ) from exc
    return ray


def source_id(repo: Repository) -> str:
    """Names the source repository on the workers (its path here; never its content)."""
    return hashlib.sha256(str(repo.root.resolve()).encode()).hexdigest()[:16]


class RayMeasurer:
    """Thread-safe; connects to the cluster on first use (the constructor does no I/O)."""

    def __init__(self, directives: Directives) -> None:
        self.directives = directives
        self.address = directives.executor.address or "auto"
        self._lock = threading.Lock()
        self._task: Any = None
        self._bundles: dict[str, Any] = {}  # baseline commit -> object ref of its bundle
        self._baselines: dict[str, Metrics] = {}

    def _remote(self) -> Any:
        with self._lock:
            if self._task is None:
                ray = import_ray()
                import engine

                if not ray.is_initialized():
                    env = {k: os.environ[k] for k in _FORWARDED if k in os.environ}
                    runtime = {"py_modules": [str(Path(engine.__file__).parent)]}
                    ray.init(
                        address=self.address,
                        runtime_env={**runtime, "env_vars": env} if env else runtime,
                        log_to_driver=False,
                        configure_logging=False,
                    )
                self._task = ray.remote(num_cpus=1, max_retries=0)(run_job)
            return self._task

    def _base_bundle(self, repo: Repository, commit: str) -> Any:
        with self._lock:
            if commit not in self._bundles:
                self._bundles[commit] = import_ray().put(write_bundle(repo, commit))
            return self._bundles[commit]

    def _run(self, job: Job, repo: Repository) -> Metrics:
        """Run ``job`` as a task, its baseline's bundle put in the object store once (after
        connecting: ``ray.put`` needs the cluster)."""
        ray = import_ray()
        task = self._remote()
        try:
            return ray.get(task.remote(job, self._base_bundle(repo, job.base)))
        except ray.exceptions.RayTaskError as exc:
            raise SandboxError(
                f"the Ray worker could not evaluate {job.commit or job.base}: "
                f"{exc.cause if exc.cause else exc}"
            ) from exc

    def baseline(self, repo: Repository, commit: str) -> Metrics:
        if commit in self._baselines:
            return self._baselines[commit]
        job = Job(
            source=source_id(repo), directives=self.directives, base=commit,
            generated=find_generated(repo.root, repo.ignored),
        )  # fmt: skip
        metrics = self._run(job, repo)
        if not metrics.tests.timed_out:
            self._baselines[commit] = metrics
        return metrics

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
        base = base or repo.rev_parse(f"{commit}^") or commit
        job = Job(
            source=source_id(repo),
            directives=self.directives,
            base=base,
            commit=commit,
            candidate_bundle=write_bundle(repo, commit, base=base),
            goal=goal,
            proposer=proposer,
            generated=find_generated(repo.root, repo.ignored),
        )
        return self._run(job, repo)
