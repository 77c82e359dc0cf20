"""ratchet's own start-up: ``--help``, ``--version`` and ``status`` (daemon not running).

Each command runs ``--runs`` times as a fresh interpreter (interleaved with ``python -c
pass``, so load on the machine hits both sides alike); the table shows medians of wall and
CPU seconds (CPU: user + system of the process and its git children, which load on a
shared machine inflates far less than wall time), the target and the wall ratio to a bare
interpreter. ``status`` runs on a scratch repository
made by ``ratchet init`` (or on ``--repo PATH``).

Usage: python benchmarks/startup.py [--runs 9] [--repo PATH]
Target (issue 13): <= 0.3 s for ``--help`` and ``status``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import initialised_repo  # noqa: E402

TARGET = 0.3


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and its git children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--repo", type=Path, help="repository for `status` (default: scratch)")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="ratchet-startup-") as tmp:
        repo = args.repo.resolve() if args.repo else initialised_repo(Path(tmp) / "repo", env)
        cli = [sys.executable, "-m", "engine.cli"]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "ratchet --help": [*cli, "--help"],
            "ratchet --version": [*cli, "--version"],
            "ratchet status": [*cli, "status", "--repo", str(repo)],
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for argv in commands.values():
            timed(argv, env)  # warm the OS caches once
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(timed(argv, env))
    bare = statistics.median(w for w, _ in samples["python -c pass"])
    print(f"{'command':<20} {'wall s':>7} {'cpu s':>6} {'target s':>9} {'x python -c pass':>17}")
    for name, values in samples.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        target = f"{TARGET:.2f}" if name in ("ratchet --help", "ratchet status") else "-"
        print(f"{name:<20} {wall:>7.3f} {cpu:>6.3f} {target:>9} {wall / bare:>16.1f}x")
    where = "--repo" if args.repo else "a scratch repo"
    print(f"({args.runs} runs each, interleaved; status on {where})")


if __name__ == "__main__":
    main()
