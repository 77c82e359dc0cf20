"""The daemon's footprint when idle, and how fast a goals.yaml edit takes effect.

Starts the real daemon (``python -m engine.cli start``) on a scratch repository whose only
goal is paused (so no cycle runs), then:

1. idle: samples its RSS and CPU time from /proc for ``--seconds`` (default 60);
2. reaction: saves goals.yaml ``--edits`` times the way editors do (write + rename) and
   measures until ``.ratchet/daemon.json`` shows the new configuration in force.

Usage: python benchmarks/daemon_idle.py [--seconds 60] [--edits 10]
Targets (issue 4): reaction under 1 s, idle CPU near zero.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scratch import initialised_repo  # noqa: E402
from engine.daemon.configuration import config_digest  # noqa: E402

GOALS = """version: 1
goals:
  - id: tidy
    description: {description}
    provider: ruff
    status: paused
"""
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def make_repo(root: Path, env: dict[str, str]) -> Path:
    initialised_repo(root, env)
    (root / "goals.yaml").write_text(GOALS.format(description="start"))
    return root


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE / 2**20


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def status(repo: Path) -> dict[str, object]:
    try:
        data: dict[str, object] = json.loads((repo / ".ratchet" / "daemon.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def wait_for(repo: Path, pid: int, key: str, value: object, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        current = status(repo)
        if current.get("pid") == pid and current.get(key) == value:
            return time.monotonic() - start
        time.sleep(0.002)
    raise SystemExit(f"timed out waiting for {key} == {value!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window")
    parser.add_argument("--edits", type=int, default=10, help="goals.yaml saves to time")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NOTIFY_SOCKET", None)
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo", env)
        log = open(Path(tmp) / "daemon.log", "wb")  # noqa: SIM115 - closed below
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "start", "--repo", str(repo)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(repo, proc.pid, "state", "idle")
            startup = time.monotonic() - started
            time.sleep(2.0)  # let start-up work (imports, fsck) settle
            rss = [rss_mib(proc.pid)]
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            while time.monotonic() - t0 < args.seconds:
                time.sleep(min(1.0, args.seconds))
                rss.append(rss_mib(proc.pid))
            cpu = cpu_seconds(proc.pid) - cpu0
            wall = time.monotonic() - t0
            latencies = []
            for i in range(args.edits):
                path = repo / "goals.yaml"
                tmp_file = path.with_name(".goals.yaml.swp")
                tmp_file.write_text(GOALS.format(description=f"edit {i}"))
                begin = time.monotonic()
                os.replace(tmp_file, path)
                digest = config_digest(repo)
                wait_for(repo, proc.pid, "config_fingerprint", digest)
                latencies.append(time.monotonic() - begin)
                time.sleep(0.3)
            n_threads = threads(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            log.close()
    ms = sorted(x * 1000 for x in latencies)
    rows = [
        ("start-up to ready", f"{startup:.2f} s"),
        ("idle window", f"{wall:.1f} s"),
        ("idle RSS start / end / max", f"{rss[0]:.1f} / {rss[-1]:.1f} / {max(rss):.1f} MiB"),
        ("idle CPU time", f"{cpu:.3f} s ({100 * cpu / wall:.3f} % of one core)"),
        ("threads", str(n_threads)),
        (
            f"goals.yaml edit -> in force (n={len(ms)})",
            f"min {ms[0]:.0f} / median {statistics.median(ms):.0f} / max {ms[-1]:.0f} ms"
            if ms
            else "-",
        ),
        ("SIGTERM exit code", str(code)),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'metric'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
