"""Static metrics (radon, ruff, bandit) on a one-file change: full pass vs incremental.

For each size, a synthetic project is made from copies of ratchet's own ``engine/``
package (real code, real findings) until it holds about that many lines of Python; or,
with ``--repo PATH``, the tracked Python files of that repository are measured. Then:

- full pass: the three probes on every file with an empty cache (what every measurement
  cost before the per-file cache, and still the cost of a baseline made of unseen files);
- incremental pass: that cache, one file edited (a function added), the probes again
  (hashing every file, reading the cache, running the tools on one file).

The table prints lines, files, both times and their ratio; ``--verify`` also checks the
incremental totals against a full pass without cache. Target (issue 13): incremental
seconds flat from 24k to 145k lines.

Usage: python benchmarks/scale.py [--sizes 24000,76000,145000] [--runs 3] [--verify] [--repo PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.gate.evaluation.filecache import FileCache  # noqa: E402
from engine.gate.evaluation.probes.complexity import measure_complexity  # noqa: E402
from engine.gate.evaluation.probes.lint import measure_lint  # noqa: E402
from engine.gate.evaluation.probes.security import measure_security  # noqa: E402
from engine.gate.paths import is_test_file  # noqa: E402

EDIT = "\n\ndef added_by_the_plan(x):\n    if x:\n        return x + 1\n    return 0\n"


def synthetic(root: Path, lines: int) -> Path:
    source = sorted((ROOT / "engine").rglob("*.py"))
    total = copy = 0
    while total < lines:
        for path in source:
            target = root / f"pkg{copy}" / path.relative_to(ROOT / "engine")
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text()
            target.write_text(text)
            total += text.count("\n")
            if total >= lines:
                break
        copy += 1
    for folder in [root, *root.rglob("*")]:
        if folder.is_dir() and folder != root and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("")
    return root


def from_repo(root: Path, repo: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--", "*.py", "pyproject.toml", "ruff.toml", ".ruff.toml"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    for rel in filter(None, tracked):
        if (repo / rel).is_file() and not (repo / rel).is_symlink():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(repo / rel, root / rel)
    return root


def python_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))


def measure(root: Path, cache: FileCache | None) -> tuple[float, tuple[object, ...]]:
    start = time.perf_counter()
    files = python_files(root)
    sources = [f for f in files if not is_test_file(f)]
    result = (
        measure_complexity(root, sources, cache=cache).metrics,
        measure_lint(root, files, cache=cache).metrics,
        measure_security(root, sources, cache=cache).metrics,
    )
    return time.perf_counter() - start, result


def bench(root: Path, runs: int, scratch: Path, verify: bool) -> tuple[int, int, float, float]:
    files = python_files(root)
    lines = sum((root / f).read_text(errors="replace").count("\n") for f in files)
    target = next(f for f in files if not is_test_file(f) and (root / f).stat().st_size > 200)
    cache = FileCache(scratch)
    full, _ = measure(root, cache)  # cold cache: the baseline's full pass fills it
    incs = []
    original = (root / target).read_text()
    try:
        for run in range(runs):
            (root / target).write_text(original + EDIT * (run + 1))  # new content every run
            seconds, incremental = measure(root, cache)
            incs.append(seconds)
        if verify:
            assert incremental == measure(root, None)[1], "incremental totals differ"
    finally:
        (root / target).write_text(original)
    return lines, len(files), full, statistics.median(incs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="24000,76000,145000", help="lines, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="incremental passes (median)")
    parser.add_argument("--verify", action="store_true", help="check totals against a full pass")
    parser.add_argument("--repo", type=Path, help="measure this repository instead")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ratchet-scale-") as tmp:
        scratch = Path(tmp)
        if args.repo:
            projects = [from_repo(scratch / "repo", args.repo.resolve())]
        else:
            sizes = [int(s) for s in args.sizes.split(",")]
            projects = [synthetic(scratch / f"p{n}", n) for n in sizes]
        for project in projects:
            cache = scratch / f"{project.name}-cache"
            rows.append(bench(project, args.runs, cache, args.verify))
            shutil.rmtree(project)
    print(f"{'lines':>8} {'files':>6} {'full pass s':>12} {'incremental s':>14} {'ratio':>7}")
    for lines, files, full, inc in rows:
        print(f"{lines:>8} {files:>6} {full:>12.2f} {inc:>14.2f} {inc / full:>7.3f}")
    print(f"(full: one cold pass; incremental: median of {args.runs}, one file edited each;")
    print(" radon + ruff check + ruff format --check + bandit)")


if __name__ == "__main__":
    main()
