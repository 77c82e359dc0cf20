"""What ratchet costs on a good candidate, its baseline cached, next to the test command.

Side by side in one run, rounds interleaved so machine load hits every column alike:

- ``plain``: the project's test command, as a user runs it (``python -m pytest -q ...``,
  its ``__pycache__`` warm);
- ``coverage``: the same under ``python -m coverage run -m`` (what any gate that measures
  coverage pays at least);
- ``ratchet``: ``ratchet run-once`` of a good candidate (all tests pass; on the generated
  project it flattens a function and merges), its baseline cached (measured once by a
  warm-up cycle; every round starts from a copy of that state): the whole cycle, start-up
  to merge, with the cascade's early stage, the full suite under coverage in the sandbox,
  static probes, behaviour replay and records;
- ``tests step``: the full suite's share of that cycle (its ``tests`` timing).

Prints each round, the medians, the ratios ratchet / plain and ratchet / coverage, and the
median seconds of the cycle's largest steps. Target (issue 13): ratchet / plain <= 1.3,
ratchet / coverage <= 1.0.

Run: ``python benchmarks/gate_overhead.py [--tests 200] [--work 2000] [--rounds 5]
[--repo PATH [--pick median|most]]``. ``--repo``: a clone of that repository (committed
state, its directives' test command); the candidate adds a no-op statement to the median
function its baseline's tests run (``--pick most``: the one the most tests run).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cascade_project import arguments, prepare, test_argv, timed  # noqa: E402


def main() -> None:
    args = arguments(__doc__)
    scratch = Path(tempfile.mkdtemp(prefix="ratchet-bench-overhead-"))
    try:
        cycle, good, _bad = prepare(scratch, args.repo, args.tests, args.work, args.pick)
        argv = test_argv(cycle.template)
        coverage = [argv[0], "-m", "coverage", "run", f"--data-file={scratch / '.cov'}", "-m"]
        coverage += argv[argv.index("-m") + 1 :] if "-m" in argv else argv[1:]
        what = str(args.repo) if args.repo else f"generated: {args.tests} tests"
        print(f"# gate overhead: {what}; {os.cpu_count()} cores; rounds interleaved")
        print(f"{'round':>5} {'plain s':>8} {'coverage s':>10} {'ratchet s':>9} "
              f"{'tests step':>10}  outcome")  # fmt: skip
        plain, covered, cycles, steps = [], [], [], defaultdict(list)
        timed(argv, cycle.template)  # the user's bytecode cache, warm as in their checkout
        for r in range(1, args.rounds + 1):
            plain.append(timed(argv, cycle.template))
            covered.append(timed(coverage, cycle.template))
            seconds, report = cycle.run(good)
            cycles.append(seconds)
            timings = report.get("timings", {})
            if "candidate" not in report:
                raise SystemExit(f"no candidate was evaluated: {report['outcome']}")
            for key, value in timings.items():
                if "." not in key:
                    steps[key].append(value)
            if "baseline.tests" in timings:
                raise SystemExit("the baseline was not cached: the figure would be wrong")
            print(f"{r:>5} {plain[-1]:>8.2f} {covered[-1]:>10.2f} {seconds:>9.2f} "
                  f"{timings.get('tests', 0.0):>10.2f}  {report['outcome']}")  # fmt: skip
        p, c, g = (statistics.median(v) for v in (plain, covered, cycles))
        print(f"median {p:>7.2f} {c:>10.2f} {g:>9.2f} {statistics.median(steps['tests']):>10.2f}")
        print(f"ratchet / plain:    {g / p:.2f}x")
        print(f"ratchet / coverage: {g / c:.2f}x")
        print(f"coverage / plain:   {c / p:.2f}x")
        top = sorted(steps.items(), key=lambda kv: -statistics.median(kv[1]))[:8]
        print("largest steps (median s): " + ", ".join(
            f"{k} {statistics.median(v):.2f}" for k, v in top))  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
