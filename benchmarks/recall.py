"""The failure memory's cost: embedding a failure, and a k-nearest query over N stored rows.

For each embedder available (the hashing one always; all-MiniLM-L6-v2 when the ``memory``
extra and the packaged model are installed) it fills a fresh SQLite store with N
synthetic failure documents (goal, summary, files, rules, cause, as
:mod:`engine.records.failures` makes them) and prints:

- ``embed ms/doc``: the mean cost of embedding one document while filling the store;
- ``query ms``: one :meth:`~engine.recall.store.FailureStore.nearest` call (embed the query,
  read every row, cosine, sort), the median of 5;
- ``file KB``: the SQLite file's size.

Run: ``python benchmarks/recall.py [--rows 100,1000,3000] [--embedder hashing|minilm]``.
Numbers depend on the machine's load: on 2 shared cores OpenBLAS's threads slow MiniLM's
small matrix products several-fold (``OPENBLAS_NUM_THREADS=1`` helps; see docs/memory.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.recall import minilm  # noqa: E402
from engine.recall.embed import Embedder, HashingEmbedder  # noqa: E402
from engine.recall.store import FailureStore  # noqa: E402
from engine.records.failures import FailureDoc  # noqa: E402

_VERBS = ("Flatten", "Inline", "Rename", "Split", "Extract", "Simplify", "Remove", "Merge")
_THINGS = ("classify", "parse_args", "load_config", "render", "merge_history", "the loop")
_CAUSES = (
    "tests failed: tests/test_ops.py::test_classify: AssertionError: assert 'small' == 'zero'",
    "coverage-ratchet: coverage % 81.2 → 79.9",
    "guard-deleted-tests: tests/test_x.py::test_y removed",
    "lint-ratchet: lint 12 → 14",
    "tests failed: ImportError: cannot import name 'area' from 'geo'",
)


def synthetic(n: int) -> list[FailureDoc]:
    return [
        FailureDoc(
            cycle_id=f"c{i:06d}",
            goal=f"goal-{i % 7}",
            started=str(i),
            summary=f"{_VERBS[i % len(_VERBS)]} {_THINGS[i % len(_THINGS)]} (variant {i})",
            files=(f"pkg/mod_{i % 40}.py",),
            lines=(i % 30, i % 11),
            rules=(_CAUSES[i % len(_CAUSES)].split(":", 1)[0],),
            cause=_CAUSES[i % len(_CAUSES)],
        )
        for i in range(n)
    ]


def measure(embedder: Embedder, rows: int, tmp: Path) -> tuple[float, float, float]:
    store = FailureStore(tmp / f"{embedder.name}-{rows}.sqlite", embedder)
    docs = synthetic(rows)
    t0 = time.perf_counter()
    store.sync(docs)
    embed_ms = (time.perf_counter() - t0) * 1000 / rows
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        store.nearest("goal: goal-3\nFlatten classify in pkg/mod_3.py\ntests failed", 3)
        times.append((time.perf_counter() - t0) * 1000)
    return embed_ms, statistics.median(times), store.path.stat().st_size / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="100,1000,3000")
    parser.add_argument("--embedder", choices=("all", "hashing", "minilm"), default="all")
    args = parser.parse_args()
    embedders: list[Embedder] = []
    if args.embedder in ("all", "hashing"):
        embedders.append(HashingEmbedder())
    if args.embedder in ("all", "minilm"):
        if minilm.available():
            embedders.append(minilm.MiniLMEmbedder())
        else:
            print(f"(MiniLM not installed: {minilm.INSTALL_HINT})")
    rows = [int(r) for r in args.rows.split(",")]
    print(f"{'embedder':<22} {'rows':>6} {'embed ms/doc':>13} {'query ms':>9} {'file KB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for embedder in embedders:
            for n in rows:
                embed_ms, query_ms, size = measure(embedder, n, Path(tmp))
                print(f"{embedder.name:<22} {n:>6} {embed_ms:>13.2f} {query_ms:>9.1f} {size:>8.0f}")


if __name__ == "__main__":
    main()
