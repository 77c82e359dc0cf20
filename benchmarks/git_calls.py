"""The fixed cost of one ``ratchet run-once`` outside the evaluation: its git processes.

A good candidate on the generated project, its baseline cached (a warm-up cycle measured
it; every run starts from a copy of that state). For this checkout, and for each
``--against`` checkout (another worktree or an extracted commit, its ``engine/`` compiled
here), on the same template:

- one traced run (``GIT_TRACE``): the number of git processes (every ``git`` git itself
  starts counts too: ``maintenance run`` after a commit, ``reset --hard`` inside ``worktree
  add``) and the commands seen more than once;
- ``--rounds`` untraced runs, checkouts interleaved so machine load hits each alike: the
  median seconds spent in ``Git.call`` (start, run and read each git; summed over threads,
  so overlapping calls count twice) and the median wall seconds of the whole ``run-once``
  (start-up to merge).

Run: ``python benchmarks/git_calls.py [--against PATH ...] [--tests 50] [--work 2000]
[--rounds 5]``.
"""

from __future__ import annotations

import argparse
import collections
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cascade_project import ROOT, prepare  # noqa: E402
from scratch import git  # noqa: E402

# ``python -m engine.cli`` with every Git.call timed; the sum is written at exit.
_TIMED = """
import atexit, os, runpy, sys, time
from engine.vcs import git
spent = [0.0]
call = git.Git.call
def timed(self, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        return call(self, *args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - t0
git.Git.call = timed
atexit.register(lambda: open(os.environ["GIT_SECONDS_FILE"], "w").write(str(spent[0])))
sys.argv[0] = "ratchet"
runpy.run_module("engine.cli", run_name="__main__", alter_sys=True)
"""
_COMMAND = re.compile(r"built-in: git ([a-z-]+)(?: ([a-z-]+))?")


def run_once(checkout: Path, template: Path, plan: Path, trace: Path | None) -> tuple[float, float]:
    """``(wall seconds, seconds in Git.call)`` of one ``run-once`` of ``checkout``'s engine on
    a fresh copy of ``template`` (``GIT_TRACE`` to ``trace`` when given)."""
    repo = template.parent / f"run-{time.monotonic_ns()}"
    shutil.copytree(template, repo, symlinks=True)
    git(repo, "worktree", "prune")
    spent = template.parent / "git-seconds"
    env = {**os.environ, "PYTHONPATH": str(checkout), "GIT_SECONDS_FILE": str(spent)}
    if trace is not None:
        env["GIT_TRACE"] = str(trace)
    argv = [sys.executable, "-c", _TIMED, "run-once", "--repo", str(repo)]
    argv += ["--goal", "bench", "--plan", str(plan), "--json", "--quiet"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    shutil.rmtree(repo, ignore_errors=True)
    if done.returncode != 0 or '"outcome": "merged"' not in done.stdout:
        raise SystemExit(f"{checkout}: run-once did not merge: {done.stderr[-2000:]}")
    return seconds, float(spent.read_text())


def git_commands(trace: Path) -> collections.Counter[str]:
    """``git <command> [<first word>]`` -> how many processes ran it, from a GIT_TRACE file."""
    found = (m.groups() for m in _COMMAND.finditer(trace.read_text(errors="replace")))
    return collections.Counter(" ".join(w for w in words if w) for words in found)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--against", type=Path, action="append", default=[])
    parser.add_argument("--tests", type=int, default=50)
    parser.add_argument("--work", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    checkouts = [ROOT, *(p.resolve() for p in args.against)]
    for checkout in checkouts:
        compileall.compile_dir(checkout / "engine", quiet=1)
    scratch = Path(tempfile.mkdtemp(prefix="ratchet-bench-git-"))
    try:
        cycle, good, _bad = prepare(scratch, None, args.tests, args.work)
        counts = {}
        for checkout in checkouts:
            trace = scratch / "trace"
            trace.unlink(missing_ok=True)
            run_once(checkout, cycle.template, good, trace)
            counts[checkout] = git_commands(trace)
        wall: dict[Path, list[float]] = {c: [] for c in checkouts}
        in_git: dict[Path, list[float]] = {c: [] for c in checkouts}
        for _ in range(args.rounds):
            for checkout in checkouts:
                seconds, spent = run_once(checkout, cycle.template, good, None)
                wall[checkout].append(seconds)
                in_git[checkout].append(spent)
        print(f"# one cached run-once, generated project ({args.tests} tests); "
              f"{os.cpu_count()} cores; {args.rounds} rounds interleaved; medians")  # fmt: skip
        print(f"{'git processes':>13} {'in git s':>8} {'wall s':>7}  checkout (each wall s)")
        for checkout in checkouts:
            total, runs = sum(counts[checkout].values()), wall[checkout]
            each = " ".join(f"{s:.2f}" for s in runs)
            print(f"{total:>13} {statistics.median(in_git[checkout]):>8.3f} "
                  f"{statistics.median(runs):>7.2f}  {checkout} ({each})")  # fmt: skip
        for checkout in checkouts:
            repeated = [f"{cmd} x{n}" for cmd, n in counts[checkout].most_common() if n > 1]
            print(f"repeated in {checkout.name}: {', '.join(repeated) or 'none'}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
