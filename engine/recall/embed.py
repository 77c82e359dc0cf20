"""Text -> unit vector. The seam a sentence-embedding model plugs into.

:class:`HashingEmbedder` is the built-in one: word tokens (identifiers split at ``_``,
``.``, ``/`` and case changes) and their character trigrams, hashed with blake2b (stable
across processes and machines, unlike ``hash()``) into ``dim`` signed buckets, weighted
``1 + log(tf)``, L2-normalised. It needs no model file and no network and is
deterministic, so a store rebuilt in a fresh clone holds the same vectors. It is lexical,
not semantic: "flatten the branches" and "reduce nesting" share nothing. A packaged
sentence-embedding model (docs/memory.md) plugs in behind the same protocol; the store
records the embedder's ``name`` and rebuilds itself when it changes.
"""

from __future__ import annotations

import hashlib
import math
import operator
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

Vector = tuple[float, ...]

_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
    ]
)


class Embedder(Protocol):
    """``name`` identifies the vectors (a store keeps it); ``dim`` their length."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One unit vector (or all zeros for a text without tokens) per text."""
        ...


class HashingEmbedder:
    """Hashed word + character-trigram features (module docstring)."""

    def __init__(self, dim: int = 512) -> None:
        if dim < 8:
            raise ValueError(f"HashingEmbedder: dim must be >= 8, got {dim}")
        self.dim = dim
        self.name = f"hashing-ngram-v1-{dim}"

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> Vector:
        vector = [0.0] * self.dim
        for feature, count in features(text).items():
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dim
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[bucket] += sign * (1.0 + math.log(count))
        return unit(vector)


def features(text: str) -> Counter[str]:
    """Word tokens (``w:``) and the trigrams of each padded word (``c:``)."""
    out: Counter[str] = Counter()
    for raw in _TOKEN.findall(_CAMEL.sub(" ", text)):
        word = raw.lower()
        if word in _STOP or len(word) < 2:
            continue
        out[f"w:{word}"] += 1
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            out[f"c:{padded[i : i + 3]}"] += 1
    return out


def unit(vector: Sequence[float]) -> Vector:
    norm = math.sqrt(sum(x * x for x in vector))
    return tuple(x / norm for x in vector) if norm else tuple(0.0 for _ in vector)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The dot product of two unit vectors."""
    return sum(map(operator.mul, a, b))
