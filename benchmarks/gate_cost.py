"""What gate v2 adds per candidate: the test run alone vs with diff coverage vs with replay.

On a generated project (``--modules`` modules of ``--functions`` functions, each with a
test) one candidate that rewrites one function without changing its behaviour is measured, rounds
interleaved so machine load hits all columns alike:

- ``tests``: the candidate's test run as ratchet runs it (pytest under coverage in the
  sandbox, JUnit, ``coverage json``);
- ``+diffcov``: the same plus reading per-line coverage and mapping it through the diff
  against the baseline's lines (measured once, as the cycle caches it);
- ``+replay``: that plus the behaviour check (a recording run of the baseline's tests and
  the replay of the recorded calls against the candidate).

Run: ``python benchmarks/gate_cost.py [--modules 20] [--functions 10] [--rounds 3]
[--sandbox bwrap|unsafe-none]``. Prints medians in seconds and ratios to
``tests``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.gate.evaluation.behaviour import BehaviourCheck, changed_functions  # noqa: E402
from engine.gate.evaluation.diffcov import FileChange, diff_coverage  # noqa: E402
from engine.gate.evaluation.probes.command import TestCommand  # noqa: E402
from engine.gate.evaluation.probes.tests import TestsProbe  # noqa: E402
from engine.gate.evaluation.sandbox import SandboxRunner  # noqa: E402
from engine.model import Limits  # noqa: E402

FUNC = "def f{i}(n):\n    if n < {i}:\n        return n * {i}\n    return n + {i}\n\n\n"
TEST = "from pkg.m{m} import f{i}\n\n\ndef test_f{i}():\n    assert f{i}({i} + 1) > 0\n\n\n"


def generate(root: Path, modules: int, functions: int) -> tuple[str, str, str]:
    """A package with tests; returns (path, old text, new text) of the edited module."""
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    for m in range(modules):
        body = "".join(FUNC.format(i=i) for i in range(1, functions + 1))
        (root / "pkg" / f"m{m}.py").write_text(body)
        tests = "".join(TEST.format(m=m, i=i) for i in range(1, functions + 1))
        (root / "tests" / f"test_m{m}.py").write_text(tests)
    old = (root / "pkg" / "m0.py").read_text()
    new = old.replace(
        "def f1(n):\n    if n < 1:\n        return n * 1\n    return n + 1\n",
        "def f1(n):\n    return n * 1 if n < 1 else n + 1\n",
    )
    return "pkg/m0.py", old, new


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument("--functions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sandbox", default="bwrap", choices=("bwrap", "unsafe-none"))
    args = parser.parse_args()

    runner = SandboxRunner(mode=args.sandbox, limits=Limits())  # type: ignore[arg-type]
    probe = TestsProbe(runner=runner, test_command="python -m pytest -q", timeout=600)
    with tempfile.TemporaryDirectory(prefix="ratchet-gate-cost-") as tmp:
        base = Path(tmp) / "base"
        rel, old, new = generate(base, args.modules, args.functions)
        cand = Path(tmp) / "cand"
        shutil.copytree(base, cand)
        (cand / rel).write_text(new)
        changes = [FileChange(path=rel, old_path=rel, old=old, new=new)]
        base_lines = probe.run(base).lines
        check = BehaviourCheck(
            runner=runner, command=TestCommand.parse(probe.test_command), timeout=600
        )
        functions = changed_functions(changes, cand)
        times: dict[str, list[float]] = {"tests": [], "+diffcov": [], "+replay": []}
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            report = probe.run(cand)
            t1 = time.perf_counter()
            diff = diff_coverage(changes, base_lines, report.lines)
            t2 = time.perf_counter()
            behaviour = check.run(base, cand, functions)
            t3 = time.perf_counter()
            times["tests"].append(t1 - t0)
            times["+diffcov"].append(t2 - t0)
            times["+replay"].append(t3 - t0)
        assert report.tests.failed == 0 and diff.uncovered == 0, (report.tests, diff)
        assert behaviour.calls >= 1 and behaviour.diverged == 0, behaviour
    tests = statistics.median(times["tests"])
    n = args.modules * args.functions
    print(f"gate cost per candidate: {n} functions/tests, sandbox {args.sandbox}, "
          f"{args.rounds} rounds (median)")  # fmt: skip
    print(f"{'step':<10} {'seconds':>8} {'ratio':>6}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<10} {median:>8.2f} {median / tests:>6.2f}")
    print(f"replayed {behaviour.calls} recorded calls of {len(functions)} changed function(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
