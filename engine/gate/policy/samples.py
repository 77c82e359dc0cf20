"""The typed sample contexts of the load-time type check (:mod:`.types`) and the shape of
the rules' context (:func:`.context.unknown_paths`), derived from the model and stored.

Both are plain data (dicts, lists, numbers, strings) that :func:`derive` builds from the
model's dataclasses: every field a value of its declared type, in the variants of
:data:`VARIANTS`. Deriving them means defining and instantiating the metric types, ~25 ms
on every configuration load (every ``ratchet status``), so they are stored in
``samples.json`` beside this module with a key: a CRC of the source files they derive from
(:data:`SOURCES`). :func:`typed_samples` and :func:`context_shape` read the file when its
key matches the sources on disk and derive the data otherwise, so a stale or broken file
is never used, only slower. Regenerate it with ``python -m engine.gate.policy.samples``
(``tests/test_policy_samples.py`` fails while it is stale; the model and the gate are
protected paths, so only a human changes what they derive from).
"""

from __future__ import annotations

import functools
import json
import types
import typing
import zlib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

ENGINE = Path(__file__).resolve().parents[2]
STORE = Path(__file__).with_name("samples.json")
# what the samples derive from: the model's types and the code that turns them into data
SOURCES = (
    "model/change.py",
    "model/codec.py",
    "model/config.py",
    "model/metrics.py",
    "gate/policy/context.py",
    "gate/policy/samples.py",
)

# (baseline number, candidate number, baseline bool, candidate bool): numbers 0/1/2,
# booleans false/true and baseline != candidate, so that both sides of &&, || and ?: run
VARIANTS: tuple[tuple[int, int, bool, bool], ...] = (
    (0, 0, False, False),
    (1, 2, True, True),
    (2, 1, False, True),
    (1, 0, True, False),
)


def typed_samples() -> tuple[dict[str, Any], ...]:
    """One context per variant of :data:`VARIANTS` (see the module doc)."""
    return tuple(_data()["samples"])


def context_shape() -> dict[str, Any]:
    """The context built from defaults: its keys are exactly the names rules may read."""
    shape: dict[str, Any] = _data()["shape"]
    return shape


def source_key() -> str:
    """The CRC-32 of :data:`SOURCES` as they are on disk (names and bytes)."""
    crc = 0
    for name in SOURCES:
        crc = zlib.crc32(name.encode() + b"\0" + (ENGINE / name).read_bytes(), crc)
    return f"{crc:08x}"


def derive() -> dict[str, Any]:
    """The samples and the shape, built from the model (what ``samples.json`` stores)."""
    from engine.gate.policy.context import build_context, tip_context
    from engine.model import ChangeFacts, Goal, Metrics

    samples = [
        build_context(
            baseline=_sample(Metrics, base_n, base_b),
            candidate=_sample(Metrics, cand_n, cand_b),
            change=_sample(ChangeFacts, cand_n, cand_b),
            goal=_sample(Goal, cand_n, cand_b),
            cost={},
            roi=cand_n + 0.5,
        )
        for base_n, cand_n, base_b, cand_b in VARIANTS
    ]
    shape = tip_context(Metrics(), Goal(id="shape", description=""))
    return {"samples": samples, "shape": shape}


@functools.cache
def _data() -> dict[str, Any]:
    try:
        stored = json.loads(STORE.read_text(encoding="utf-8"))
        if isinstance(stored, dict) and stored.get("key") == source_key():
            return stored
    except (OSError, ValueError):
        pass
    return derive()


def _sample(cls: type, n: int, b: bool) -> Any:
    """An instance of the dataclass ``cls`` with every field a value of its declared type."""
    from engine.gate.policy.context import field_types

    hints = field_types(cls)
    values = {f.name: _value(hints[f.name], n, b) for f in fields(cls) if f.init}
    return cls(**values)


def _value(hint: Any, n: int, b: bool) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _value(inner[0], n, b) if inner else None
    if origin is Literal:
        return args[0]
    if origin is tuple:
        item = args[0] if args else str
        return () if typing.get_origin(item) is dict else (_value(item, n, b),)
    if origin is dict or hint is dict:
        return {}  # free keys: any name may be present at run time
    if is_dataclass(hint) and isinstance(hint, type):
        return _sample(hint, n, b)
    if hint is bool:
        return b
    if hint is int:
        return n
    if hint is float:
        return n + 0.5
    if hint is str:
        return "x"
    return None


def main() -> None:
    """Write ``samples.json`` (``python -m engine.gate.policy.samples``)."""
    data = {"key": source_key(), **derive()}
    STORE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
