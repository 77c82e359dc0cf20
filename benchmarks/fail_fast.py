"""How fast a candidate that breaks a test covering its change is rejected.

Side by side in one run, rounds interleaved so machine load hits every column alike:

- ``full suite``: the full suite as ratchet runs it for a merge (the ``tests`` step of a
  good candidate's cycle, baseline cached: by reach, the whole suite untraced in the
  sandbox beside the traced reaching tests; without a usable reach, under coverage);
- ``plain``: the project's test command as a user runs it (its ``__pycache__`` warm);
- ``rejected in``: ``ratchet run-once`` of a candidate that breaks the function the tests
  run (generated project: one test covers it), baseline cached, start-up to the recorded
  rejection; and ``early stage``: the step that rejected it — ``tests_reach`` (the tests
  that reach the change, traced, fail-fast; the whole suite beside it is cancelled) or,
  without a usable reach, ``tests_selected`` (the covering tests, fail-fast, untraced).

Prints each round, the medians and the ratios of the rejection to the full suite. Target
(issue 13): rejected in <= 0.25x of the full suite.

Run: ``python benchmarks/fail_fast.py [--tests 200] [--work 2000] [--rounds 5]
[--repo PATH [--pick median|most]]`` (``--repo``: as in ``gate_overhead.py``; the bad
candidate makes that function raise).
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
    scratch = Path(tempfile.mkdtemp(prefix="ratchet-bench-failfast-"))
    try:
        cycle, good, bad = prepare(scratch, args.repo, args.tests, args.work, args.pick)
        argv = test_argv(cycle.template)
        what = str(args.repo) if args.repo else f"generated: {args.tests} tests"
        print(f"# fail fast: {what}; {os.cpu_count()} cores; rounds interleaved")
        print(f"{'round':>5} {'plain s':>8} {'full suite s':>12} {'rejected in s':>13} "
              f"{'early stage s':>13}  stage, failing")  # fmt: skip
        plain, full, rejected, early = [], [], [], []
        timed(argv, cycle.template)  # the user's bytecode cache, warm as in their checkout
        steps: dict[str, list[float]] = defaultdict(list)
        for r in range(1, args.rounds + 1):
            plain.append(timed(argv, cycle.template))
            _, good_report = cycle.run(good)
            full.append(good_report["timings"]["tests"])
            seconds, report = cycle.run(bad)
            rejected.append(seconds)
            timings = report.get("timings", {})
            if report["outcome"] != "rejected" or "baseline.tests" in timings:
                raise SystemExit(f"not a cached early rejection: {report['outcome']}, {timings}")
            early.append(timings.get("tests_reach", timings.get("tests_selected", 0.0)))
            for key, value in timings.items():
                if "." not in key:
                    steps[key].append(value)
            tests = report["candidate"]["tests"]
            print(f"{r:>5} {plain[-1]:>8.2f} {full[-1]:>12.2f} {seconds:>13.2f} "
                  f"{early[-1]:>13.2f}  {tests['stage']}, {len(tests['failures'])}")  # fmt: skip
        p, f, rj, e = (statistics.median(v) for v in (plain, full, rejected, early))
        print(f"median {p:>7.2f} {f:>12.2f} {rj:>13.2f} {e:>13.2f}")
        print(f"rejected in / full suite (ratchet's):   {rj / f:.2f}x")
        print(f"early stage / full suite (ratchet's):   {e / f:.2f}x")
        print(f"rejected in / plain test command:       {rj / p:.2f}x")
        top = sorted(steps.items(), key=lambda kv: -statistics.median(kv[1]))[:8]
        shown = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in top)
        print(f"rejection's largest steps (median s): {shown}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
