"""``FailureStore``: the failure documents and their vectors in one SQLite file.

Two tables: ``meta`` (which embedder made the vectors) and ``failures`` (one row per
cycle id: goal, start time, the prompt line, the embedded text and the vector as float32
bytes). Nearest neighbours are a plain cosine scan over every row (unit vectors: a dot
product; one matrix product when numpy is installed), ties broken by cycle id, so the same
rows give the same answer anywhere;
``benchmarks/recall.py`` measures the scan (a few thousand rows: milliseconds).

The file is a cache of the records: :meth:`FailureStore.sync` adds what is missing, and a
file that is unreadable, of another schema or built by another embedder is emptied and
refilled. The constructor does no I/O.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Collection, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from engine.recall.embed import Embedder, cosine
from engine.records.failures import FailureDoc

SCHEMA = 1
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    cycle_id TEXT PRIMARY KEY, goal TEXT NOT NULL, started TEXT NOT NULL,
    line TEXT NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL
);
"""


@dataclass(frozen=True, kw_only=True)
class Neighbour:
    cycle_id: str
    goal: str
    line: str
    score: float


class FailureStore:
    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.path = path
        self.embedder = embedder

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        try:
            return self._checked(db)
        except sqlite3.DatabaseError:  # not a database (a torn or foreign file): rebuild
            db.close()
            self.path.unlink(missing_ok=True)
            return self._checked(sqlite3.connect(self.path))

    def _checked(self, db: sqlite3.Connection) -> sqlite3.Connection:
        db.executescript(_TABLES)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        want = {"schema": str(SCHEMA), "embedder": self.embedder.name}
        if meta != want:  # another schema or embedder: its vectors mean nothing here
            db.execute("DELETE FROM failures")
            db.execute("DELETE FROM meta")
            db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(want.items()))
            db.commit()
        return db

    def ids(self) -> set[str]:
        with closing(self._open()) as db:
            return {row[0] for row in db.execute("SELECT cycle_id FROM failures")}

    def sync(self, docs: Sequence[FailureDoc]) -> int:
        """Add the documents not stored yet (by cycle id); returns how many were added."""
        with closing(self._open()) as db:
            known = {row[0] for row in db.execute("SELECT cycle_id FROM failures")}
            new = [d for d in docs if d.cycle_id not in known]
            if not new:
                return 0
            vectors = self.embedder.embed([d.text for d in new])
            db.executemany(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (d.cycle_id, d.goal, d.started, d.line, d.text, array("f", v).tobytes())
                    for d, v in zip(new, vectors, strict=True)
                ],
            )
            db.commit()
            return len(new)

    def nearest(
        self, query: str, k: int, *, exclude: Collection[str] = (), min_score: float = 0.0
    ) -> list[Neighbour]:
        """The ``k`` stored failures most like ``query`` (cosine), best first; rows in
        ``exclude`` and scores at or below ``min_score`` are left out."""
        if k <= 0:
            return []
        with closing(self._open()) as db:
            if db.execute("SELECT 1 FROM failures LIMIT 1").fetchone() is None:
                return []  # nothing remembered: the model is not even loaded
            (q,) = self.embedder.embed([query])
            rows = [
                row
                for row in db.execute("SELECT cycle_id, vector FROM failures")
                if row[0] not in exclude and len(row[1]) == 4 * len(q)
            ]
            scores = _scores(q, [blob for _, blob in rows])
            order = sorted(range(len(rows)), key=lambda i: (-scores[i], rows[i][0]))
            best = [(rows[i][0], scores[i]) for i in order[:k] if scores[i] > min_score]
            found = []
            for cycle_id, score in best:
                goal, line = db.execute(
                    "SELECT goal, line FROM failures WHERE cycle_id = ?", (cycle_id,)
                ).fetchone()
                found.append(Neighbour(cycle_id=cycle_id, goal=goal, line=line, score=score))
        return found


def _scores(query: Sequence[float], blobs: Sequence[bytes]) -> list[float]:
    """Cosine of ``query`` with each row's vector: one matrix product with numpy (when it
    is installed: the ``memory`` extra), else a pure-Python dot product per row."""
    if not blobs:
        return []
    try:
        import numpy as np
    except ImportError:
        out = []
        for blob in blobs:
            vector = array("f")
            vector.frombytes(blob)
            out.append(cosine(query, vector))
        return out
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32)
    product = matrix.reshape(len(blobs), len(query)) @ np.asarray(query, dtype=np.float32)
    return [float(x) for x in product]
