"""One evaluation as a self-contained job: what a Ray worker runs (:func:`evaluate_job`).

A :class:`Job` carries the directives, the goal, the baseline commit with a bundle of its
history, and (for a candidate) the candidate commit with a thin bundle ``base..candidate``.
The worker fetches them into its private repository for that source (one per source and
machine, under ``RATCHET_WORKER_DIR`` or the temp directory; a file lock serialises
fetches), then measures with the ordinary :class:`~engine.gate.measure.SandboxMeasurer`
in its own bubblewrap sandbox, its baseline cache kept in that repository's ``.ratchet/``.
It returns the frozen :class:`~engine.model.Metrics` and nothing else: it never decides.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from engine.gate.evaluation.generated import Generated
from engine.model import Directives, Executor, Goal, Metrics


@dataclass(frozen=True, kw_only=True)
class Job:
    source: str  # names the source repository (a hash): the worker's repository for it
    directives: Directives
    base: str  # the baseline commit
    base_bundle: bytes = b""  # its history (through Ray: the second argument of run_job)
    commit: str | None = None  # the candidate; None: measure the baseline only
    candidate_bundle: bytes = b""  # base..commit
    goal: Goal | None = None
    proposer: str | None = None  # the provider whose plan the candidate is
    generated: Generated = Generated()  # the build's ignored files, from the daemon's tree


def worker_root(source: str) -> Path:
    base = os.environ.get("RATCHET_WORKER_DIR") or Path(tempfile.gettempdir()) / "ratchet-worker"
    return Path(base) / source


def run_job(job: Job, base_bundle: bytes) -> Metrics:
    """The Ray task: the baseline bundle travels as its own argument, so Ray resolves the
    object reference the daemon put once per baseline."""
    return evaluate_job(replace(job, base_bundle=base_bundle))


def evaluate_job(job: Job) -> Metrics:
    """Measure the job's baseline, or its candidate against the baseline, on this machine."""
    from filelock import FileLock

    from engine.gate.measure import SandboxMeasurer, make_measurer, scratch_name
    from engine.vcs import Repository
    from engine.vcs.bundles import has_commit, receive_bundle

    root = worker_root(job.source)
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        if not has_commit(root, job.base):
            receive_bundle(root, job.base_bundle, job.base)
        if job.commit is not None and not has_commit(root, job.commit):
            receive_bundle(root, job.candidate_bundle, job.commit)
    repo = Repository.open(root)
    measurer = make_measurer(replace(job.directives, executor=Executor()))
    if isinstance(measurer, SandboxMeasurer):  # this repository has no working tree of its own
        measurer.generated = job.generated
    if job.commit is None:
        return measurer.baseline(repo, job.base)
    measurer.baseline(repo, job.base)  # cached here after the first job: its lines too
    worktree = repo.add_worktree(scratch_name("eval", job.commit), commit=job.commit, branch=None)
    try:
        return measurer.candidate(
            worktree, repo, job.commit, base=job.base, goal=job.goal, proposer=job.proposer
        )
    finally:
        repo.remove_worktree(worktree)
