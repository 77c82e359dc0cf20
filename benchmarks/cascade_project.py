"""The project and the cycles the cascade benchmarks time (not a benchmark itself).

``generate``: a package whose ``--tests N`` tests spend real Python time in package code
(so coverage slows them as it slows a real suite), ten per test module, plus one
``classify`` function with nested branches that only ``tests/test_classify.py`` runs: the
good plan flattens it (same behaviour, lower complexity: it merges), the bad plan breaks
it (one covering test fails).

``--repo``: a clone of a repository; plans are made after a first (warm-up) cycle from a
top-level function its baseline's selection map says tests run — the median of those
(``--pick median``, a typical change) or the one the most tests run (``--pick most``, the
worst case for coverage by reach): the good plan adds a statement that does nothing to
its body (its AST changes, its behaviour does not), the bad plan makes it raise. The
warm-up's own plan (a comment) differs from both (a plan already tried is refused).

``Cycle.run`` copies the prepared repository with its ``.ratchet/`` state (the baseline and
per-file caches are keyed by content, so the copy finds them), runs ``ratchet run-once``
with one plan and returns its wall time and ``--json`` report.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))  # this checkout's engine, as ``scratch.ratchet`` runs it

from scratch import git, ratchet  # noqa: E402

# pytest plugins that happen to be installed here (hypothesis, pytest-benchmark, anyio,
# pytest-timeout) cost ~3 s per pytest start on a loaded 2-core machine: the generated
# project does not load them, so each side pays pytest's own start-up only
PLAIN = (
    "python -m pytest -q -p no:cacheprovider"
    " -p no:hypothesispytest -p no:benchmark -p no:anyio -p no:timeout"
)

WORK = '''\
def work(n):
    """Pure-Python work for the tests to spend time in."""
    total = 0
    for i in range(n):
        total += i % 7 if i % 3 else -(i % 5)
    return total
'''
CLASSIFY = """\
def classify(n):
    if n < 0:
        return "negative"
    else:
        if n == 0:
            return "zero"
        else:
            if n < 10:
                return "small"
            else:
                return "large"
"""
FLAT = """\
def classify(n):
    if n == 0:
        return "zero"
    return ("negative", "small", "large")[(n > 0) + (n >= 10)]
"""
BROKEN = 'def classify(n):\n    return "small"\n'
CLASSIFY_TEST = """\
from pkg.ops import classify


def test_classify():
    assert [classify(n) for n in (-1, 0, 3, 30)] == ["negative", "zero", "small", "large"]
"""
TEST = "\n\ndef test_t{i}():\n    assert work({n}) == work({n})\n"


def arguments(doc: str | None) -> argparse.Namespace:
    """The options both cascade benchmarks take (``doc``: the script's docstring)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--tests", type=int, default=200, help="tests of the generated project")
    parser.add_argument("--work", type=int, default=2000, help="loop iterations per test")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repo", type=Path, help="benchmark a clone of this repository")
    parser.add_argument(
        "--pick",
        choices=("median", "most"),
        default="median",
        help="with --repo: touch the median function the tests run, or the one most run",
    )
    return parser.parse_args()


def generate(root: Path, tests: int, work: int) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "work.py").write_text(WORK)
    (root / "pkg" / "ops.py").write_text(CLASSIFY)
    (root / "tests" / "test_classify.py").write_text(CLASSIFY_TEST)
    for m in range(max(1, (tests - 1 + 9) // 10)):
        body = "".join(TEST.format(i=i, n=work) for i in range(m * 10, min(tests - 1, m * 10 + 10)))
        (root / "tests" / f"test_w{m}.py").write_text("from pkg.work import work\n" + body)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project")


def configure(root: Path, test_command: str | None) -> None:
    """``ratchet init``, one goal (scripted plans, one attempt), the checked-out branch as
    the target (``main`` of a generated project, whatever a cloned repository's is)."""
    if not (root / "directives.yaml").exists():
        init = ratchet("init", "--repo", str(root))
        if init.returncode:
            raise SystemExit(f"ratchet init failed: {init.stderr}")
    goal = {
        "id": "bench",
        "description": "Benchmark plan.",
        "scope": ["**/*.py"],
        "provider": "scripted",
        "max_attempts": 1,
    }
    (root / "goals.yaml").write_text(yaml.safe_dump({"version": 1, "goals": [goal]}))
    directives = yaml.safe_load((root / "directives.yaml").read_text()) or {}
    branch = git(root, "rev-parse", "--abbrev-ref", "HEAD")
    directives |= {"target_branch": branch, "timeouts": {"tests": 900}}
    if test_command:
        directives["test_command"] = test_command
    (root / "directives.yaml").write_text(yaml.safe_dump(directives, sort_keys=False))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bench: configure ratchet")


def plan(path: Path, file: str, symbol: str, code: str) -> Path:
    edit = {"file": file, "op": "replace", "symbol": symbol, "code": code}
    path.write_text(yaml.safe_dump({"summary": f"bench: {symbol}", "edits": [edit]}))
    return path


@dataclass
class Cycle:
    """A prepared repository (its baseline measured and cached) and a scratch directory."""

    template: Path
    scratch: Path

    def run(self, plan_path: Path) -> tuple[float, dict[str, Any]]:
        repo = self.scratch / f"run-{time.monotonic_ns()}"
        shutil.copytree(self.template, repo, symlinks=True)
        git(repo, "worktree", "prune")
        t0 = time.perf_counter()
        done = ratchet(
            "run-once", "--repo", str(repo), "--goal", "bench", "--plan", str(plan_path),
            "--json", "--quiet",
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        shutil.rmtree(repo, ignore_errors=True)
        if done.returncode not in (0, 1):
            raise SystemExit(f"run-once failed ({done.returncode}): {done.stderr[-2000:]}")
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return seconds, report


def warm_up(template: Path, plan_path: Path) -> dict[str, Any]:
    """One cycle in the template itself: its baseline measured and cached there."""
    done = ratchet(
        "run-once", "--repo", str(template), "--goal", "bench", "--plan", str(plan_path),
        "--json", "--quiet",
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise SystemExit(f"warm-up run-once failed: {done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    git(template, "reset", "-q", "--hard", report["target_before"])  # a merge undone
    return report


def tested_function(repo: Path, pick: str = "median") -> tuple[str, str, str]:
    """(file, name, source) of a top-level function tests run, per the cached selection map
    of the repository's baseline: the one the most tests ran (``pick="most"``: the worst
    case for coverage by reach) or the median of those (``"median"``: a typical function);
    says which on stderr, with how many of the map's tests ran it."""
    from engine.gate.evaluation.cache import read_map_file

    found: list[tuple[int, str, str, str]] = []
    total = 0
    for path in (repo / ".ratchet").rglob("*.map.*"):
        test_map = read_map_file(path)
        if test_map is None:
            continue
        total = max(total, len(test_map.tests))
        for rel, by_line in test_map.lines.items():
            try:
                text = (repo / rel).read_text()
                tree = ast.parse(text)
            except (OSError, SyntaxError, ValueError):
                continue
            for node in tree.body:
                if not isinstance(node, ast.FunctionDef):
                    continue
                ids = {
                    i
                    for n, ix in by_line.items()
                    if node.lineno < n <= (node.end_lineno or 0)
                    for i in ix
                }
                if ids:
                    source = function_source(text, node)
                    found.append((len(ids), rel, node.name, source))
    if not found:
        raise SystemExit(f"{repo}: no function is run by a test (no selection map?)")
    found.sort()
    count, rel, name, source = found[-1] if pick == "most" else found[len(found) // 2]
    print(f"# the candidate touches {rel}::{name} ({pick}: {count} of {total} tests ran it)",
          file=sys.stderr)  # fmt: skip
    return rel, name, source


def touched(source: str) -> str:
    """``source`` (one function) with a statement that does nothing added at the start of
    its body, after its docstring: the body's AST changes, its behaviour does not."""
    head = ast.parse(source).body[0]
    assert isinstance(head, ast.FunctionDef)
    body, lines = head.body, source.splitlines()
    first = body[0]
    doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant)
    if doc and len(body) == 1:
        at, model = first.end_lineno or first.lineno, first.lineno
    else:
        anchor = body[1] if doc else first
        decorators = getattr(anchor, "decorator_list", [])
        at = model = min([anchor.lineno, *(d.lineno for d in decorators)]) - 1
        model += 1
    text = lines[model - 1]
    indent = text[: len(text) - len(text.lstrip())]
    lines.insert(at, f"{indent}_ = None  # touched by the benchmark")
    return "\n".join(lines) + "\n"


def commented(source: str, why: str = "touched by the benchmark") -> str:
    lines = source.splitlines()
    return "\n".join([lines[0], f"    # {why}", *lines[1:]]) + "\n"


def raising(source: str) -> str:
    head = ast.parse(source).body[0]
    assert isinstance(head, ast.FunctionDef)
    lines = source.splitlines()
    signature = lines[: head.body[0].lineno - 1]
    return "\n".join([*signature, '    raise RuntimeError("broken by the benchmark")']) + "\n"


def prepare(
    scratch: Path, repo: Path | None, tests: int, work: int, pick: str = "median"
) -> tuple[Cycle, Path, Path]:
    """The template (baseline cached) and the good and bad plans."""
    template = scratch / "template"
    if repo is None:
        generate(template, tests, work)
        configure(template, PLAIN)
        good = plan(scratch / "good.yaml", "pkg/ops.py", "classify", FLAT)
        bad = plan(scratch / "bad.yaml", "pkg/ops.py", "classify", BROKEN)
        # a plan of its own (a repeated plan would be refused as already tried), on another
        # function: the good plan's behaviour recording is not made here (each round pays it)
        warm = commented(WORK, "warm-up")
        warm_up(template, plan(scratch / "warm.yaml", "pkg/work.py", "work", warm))
    else:
        git(scratch, "clone", "-q", str(repo.resolve()), str(template))
        _carry_generated(repo.resolve(), template)
        configure(template, None)
        file, name = _first_function(template)
        touch = commented(_src(template, file, name), "warm-up")
        warm_up(template, plan(scratch / "touch.yaml", file, name, touch))
        file, name, source = tested_function(template, pick)
        good = plan(scratch / "good.yaml", file, name, touched(source))
        bad = plan(scratch / "bad.yaml", file, name, raising(source))
    return Cycle(template, scratch), good, bad


def _carry_generated(source: Path, clone: Path) -> None:
    """The build's ignored files (a hatch-vcs or setuptools-scm version file) from the
    source's working tree into the clone's, as the user's own checkout has them: a clone
    of the commits alone does not import (humanize 4.17: no ``humanize._version``)."""
    from engine.gate.evaluation.generated import find_generated
    from engine.vcs import Repository

    find_generated(source, Repository.open(source).ignored).write_into(clone)


def _first_function(repo: Path) -> tuple[str, str]:
    for rel in git(repo, "ls-files", "*.py").splitlines():
        if rel.startswith(("tests/", "test/")) or "test" in rel.rsplit("/", 1)[-1]:
            continue
        try:
            tree = ast.parse((repo / rel).read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                return rel, node.name
    raise SystemExit(f"{repo}: no top-level function in a non-test module")


def _src(repo: Path, rel: str, name: str) -> str:
    text = (repo / rel).read_text()
    defs = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    node = next(n for n in defs if n.name == name)
    return function_source(text, node)


def function_source(text: str, node: ast.FunctionDef) -> str:
    """A top-level function's source with its decorators: a plan replaces the whole
    definition, and one without them would change what the name is (a @contextmanager
    function turned into a plain generator function)."""
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return "\n".join(text.splitlines()[start - 1 : node.end_lineno])


def timed(argv: list[str], cwd: Path) -> float:
    """Wall seconds of one command, run as the user's own run would import the project (a
    src layout on the path, as an installed package would be) and keep its bytecode (its
    ``__pycache__`` written and read again, whatever this shell's PYTHONDONTWRITEBYTECODE
    says: call it once untimed to warm that cache, as a user's checkout is). Exit 1 (some
    tests fail: a suite may have known failures) is timed; any other failure (collection
    or usage errors, no tests) stops the benchmark: its figure would be that of a broken
    run."""
    from engine.gate.evaluation.probes.command import src_root

    src = src_root(cwd)
    env = {**os.environ, "PYTHONPATH": str(src) if src else ""}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        tail = (done.stdout + done.stderr)[-1500:]
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode} in {cwd}:\n{tail}")
    return seconds


def test_argv(template: Path) -> list[str]:
    """The repository's test command (from its directives) as argv, run with this Python."""
    import shlex

    from engine.gate.testcmd import resolve

    directives = yaml.safe_load((template / "directives.yaml").read_text()) or {}
    words = shlex.split(resolve(directives.get("test_command") or "auto", template).command)
    if words[0].startswith("python"):
        words[0] = sys.executable
    elif words[0] == "pytest":
        words = [sys.executable, "-m", "pytest", *words[1:]]
    return words
