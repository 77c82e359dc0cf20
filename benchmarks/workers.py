"""Candidates per hour with ``--workers 2`` versus 1, on a single-threaded test suite.

A generated project (``--modules`` modules, each with a test module; the suite spends
``--suite-seconds`` of single-threaded CPU in ``hashlib.pbkdf2_hmac``, which coverage does
not slow down) gets one goal per module, each with a scripted plan that evaluates in full
and is rejected by the rules (it adds an unused variable: one more lint finding), so no
merge forces a rebase and re-evaluation: the figure is evaluation throughput, what
``workers`` is for. (A merged candidate costs the later one a re-evaluation on the moved
target, serial or not.)

One side runs ``ratchet run-once`` once per goal (one candidate each); the other runs
``ratchet run-once --workers 2`` half as often (two candidates each). Each side starts from
a fresh copy of the project and first runs, untimed, one more goal (``g0``, on its own
function) so that its baseline is measured and cached before the clock starts: the rate is
that of a daemon that is already running, where the baseline is measured once per target
tip, not once per handful of candidates (with the baseline timed, 4 candidates per side, a
4 s suite and perfect scaling, the ratio could not pass ~1.67x). Rounds alternate the
sides so machine load hits both alike. Prints each round, the medians and the ratio of
candidates per hour.

``--repo PATH``: the same on a copy of that repository (committed state, its own
directives' test command), the plans rewriting the first ``--modules`` top-level functions
of its non-test modules the same way.

Run: ``python benchmarks/workers.py [--modules 4] [--suite-seconds 4] [--rounds 2]
[--repo PATH]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from cascade_project import function_source  # noqa: E402
from scratch import git, ratchet  # noqa: E402

SPIN = '''\
import hashlib


def spin(iterations):
    """Single-threaded CPU work that coverage does not trace (it is all in C)."""
    return hashlib.pbkdf2_hmac("sha256", b"key", b"salt", iterations)
'''
MODULE = '''\
def f{m}(n):
    """Module {m}'s function."""
    if n < {m}:
        return n * 2
    return n + {m}
'''
TEST = """\
from pkg.m{m} import f{m}
from pkg.spin import spin


def test_f{m}():
    spin({iterations})
    assert f{m}({m} + 1) == {m} + 1 + {m}
"""


def calibrate(seconds: float) -> int:
    """pbkdf2 iterations that take ``seconds`` here and now."""
    import hashlib

    n = 20_000
    t0 = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", b"key", b"salt", n)
    return max(1000, int(n * seconds / max(time.perf_counter() - t0, 1e-6)))


def generate(root: Path, modules: int, suite_seconds: float) -> list[tuple[str, str, str]]:
    """The project, committed; returns (module, function, source) per goal."""
    per_test = calibrate(suite_seconds / modules)
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "spin.py").write_text(SPIN)
    targets = []
    for m in range(modules + 1):  # m0: the untimed warm-up goal's, its test spins ~0 s
        source = MODULE.format(m=m)
        (root / "pkg" / f"m{m}.py").write_text(source)
        spins = per_test if m else 1
        (root / "tests" / f"test_m{m}.py").write_text(TEST.format(m=m, iterations=spins))
        targets.append((f"pkg/m{m}.py", f"f{m}", source))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")
    return targets


def functions_of(root: Path, count: int) -> list[tuple[str, str, str]]:
    """The first ``count`` top-level functions of tracked non-test modules."""
    out: list[tuple[str, str, str]] = []
    for rel in git(root, "ls-files", "*.py").splitlines():
        if "test" in rel.split("/")[-1] or rel.startswith(("tests/", "test/")):
            continue
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and len(out) < count:
                out.append((rel, node.name, function_source(text, node)))
    if len(out) < count:
        raise SystemExit(f"{root}: found {len(out)} top-level functions, need {count}")
    return out


def lint_worse(function_source: str) -> str:
    """The function with ``unused = 1`` as its first statement (ruff F841: one more lint)."""
    lines = function_source.splitlines()
    tree = ast.parse(function_source)
    first = tree.body[0].body[0]  # type: ignore[attr-defined]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        at = first.end_lineno or first.lineno  # after the docstring
    else:
        at = first.lineno - 1
    indent = " " * (len(lines[at]) - len(lines[at].lstrip())) if at < len(lines) else "    "
    return "\n".join([*lines[:at], f"{indent}unused = 1", *lines[at:]]) + "\n"


def configure(root: Path, targets: list[tuple[str, str, str]], test_command: str | None) -> None:
    init = ratchet("init", "--repo", str(root))
    if init.returncode:
        raise SystemExit(f"ratchet init failed: {init.stderr}")
    goals = []
    (root / "bench-plans").mkdir(exist_ok=True)
    for i, (rel, name, source) in enumerate(targets):  # g0: the warm-up
        edit = {"file": rel, "op": "replace", "symbol": name, "code": lint_worse(source)}
        plan = {"summary": f"Touch {name}", "edits": [edit]}
        (root / "bench-plans" / f"g{i}.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
        goals.append(
            {
                "id": f"g{i}",
                "description": f"Touch {name}.",
                "scope": [rel],
                "provider": "scripted",
                "max_attempts": 1,
                "options": {"plans": [f"bench-plans/g{i}.yaml"]},
            }
        )
    (root / "goals.yaml").write_text(yaml.safe_dump({"version": 1, "goals": goals}))
    directives = yaml.safe_load((root / "directives.yaml").read_text()) or {}
    branch = git(root, "rev-parse", "--abbrev-ref", "HEAD")  # a cloned repository's own
    directives |= {"target_branch": branch, "schedule": {"on_change": "run"}}
    if test_command:
        directives["test_command"] = test_command
    (root / "directives.yaml").write_text(yaml.safe_dump(directives, sort_keys=False))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bench: goals")


def side(template: Path, scratch: Path, workers: int, goals: int) -> tuple[float, list[str]]:
    """Seconds for ``goals`` candidates with ``workers``, from a fresh clone."""
    repo = scratch / f"w{workers}-{time.monotonic_ns()}"
    git(scratch, "clone", "-q", str(template), str(repo))
    git(repo, "checkout", "-q", "-b", "bench-user")  # main is not checked out: a CAS
    warm = ratchet("run-once", "--repo", str(repo), "--goal", "g0")  # the baseline, untimed
    if warm.returncode:
        raise SystemExit(f"run-once --goal g0 failed ({warm.returncode}): {warm.stderr[-2000:]}")
    outcomes: list[str] = []
    t0 = time.monotonic()
    for _ in range(goals // workers):
        run = ratchet("run-once", "--repo", str(repo), "--workers", str(workers))
        if run.returncode:
            raise SystemExit(f"run-once failed ({run.returncode}): {run.stderr[-2000:]}")
    seconds = time.monotonic() - t0
    journal = (repo / ".ratchet" / "journal.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in journal]
    outcomes = [e["outcome"] for e in entries if e.get("goal") != "g0"]
    shutil.rmtree(repo, ignore_errors=True)
    return seconds, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modules", type=int, default=4, help="goals (an even number)")
    parser.add_argument("--suite-seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repo", type=Path, help="benchmark a copy of this repository")
    args = parser.parse_args()
    goals = args.modules + args.modules % 2
    scratch = Path(tempfile.mkdtemp(prefix="ratchet-bench-workers-"))
    try:
        template = scratch / "template"
        if args.repo:
            git(scratch, "clone", "-q", str(args.repo.resolve()), str(template))
            targets = functions_of(template, goals + 1)
            what = f"{args.repo} ({goals} candidates)"
        else:
            targets = generate(template, goals, args.suite_seconds)
            what = f"generated: {goals} modules, suite ~{args.suite_seconds:g} s single-threaded"
        existing = template / "directives.yaml"
        command = None
        if args.repo and existing.exists():
            command = (yaml.safe_load(existing.read_text()) or {}).get("test_command")
        elif not args.repo:
            command = "python -m pytest -q -p no:cacheprovider"
        configure(template, targets, command)
        print(f"# workers: {what}; {os.cpu_count()} cores; rounds alternate the sides")
        print(f"{'round':>5} {'workers':>7} {'seconds':>8} {'cand/h':>7}  outcomes")
        times: dict[int, list[float]] = {1: [], 2: []}
        for r in range(1, args.rounds + 1):
            for workers in (1, 2) if r % 2 else (2, 1):
                seconds, outcomes = side(template, scratch, workers, goals)
                times[workers].append(seconds)
                rate = goals / seconds * 3600
                shown = ",".join(sorted(set(outcomes)))
                print(f"{r:>5} {workers:>7} {seconds:>8.1f} {rate:>7.0f}  {shown}")
        one, two = (statistics.median(times[w]) for w in (1, 2))
        print(f"median  1 worker:  {one:7.1f} s  {goals / one * 3600:6.0f} candidates/h")
        print(f"median  2 workers: {two:7.1f} s  {goals / two * 3600:6.0f} candidates/h")
        print(f"ratio (2 workers / 1 worker, candidates per hour): {one / two:.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
