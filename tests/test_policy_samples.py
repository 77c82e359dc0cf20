"""engine.gate.policy.samples: the stored sample contexts and context shape are exactly
what the model gives (same values, same int/float/bool kinds), and a stale or broken store
is never used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.gate.policy import samples


def kinds(value: Any) -> Any:
    """``value`` with every leaf replaced by its type name (1 and 1.0 differ)."""
    if isinstance(value, dict):
        return {k: kinds(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [kinds(v) for v in value]
    return type(value).__name__


def test_the_stored_samples_are_what_the_model_gives() -> None:
    stored = json.loads(samples.STORE.read_text(encoding="utf-8"))
    assert stored["key"] == samples.source_key(), (
        "engine/gate/policy/samples.json is stale: run `python -m engine.gate.policy.samples`"
    )
    derived = json.loads(json.dumps(samples.derive()))  # tuples -> lists, as stored
    assert stored["samples"] == derived["samples"] and stored["shape"] == derived["shape"]
    assert kinds(stored["samples"]) == kinds(samples.derive()["samples"])
    assert kinds(stored["shape"]) == kinds(samples.derive()["shape"])


def test_the_loaders_give_the_stored_data() -> None:
    assert list(samples.typed_samples()) == samples.derive()["samples"]
    assert samples.context_shape() == samples.derive()["shape"]
    assert len(samples.typed_samples()) == len(samples.VARIANTS)


@pytest.mark.parametrize(
    "text",
    [
        '{"key": "00000000", "samples": [], "shape": {}}',  # stale: another key
        "{not json",
        "[]",
    ],
)
def test_a_stale_or_broken_store_is_derived_again(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "samples.json"
    store.write_text(text, encoding="utf-8")
    monkeypatch.setattr(samples, "STORE", store)
    samples._data.cache_clear()
    try:
        assert samples.context_shape() == samples.derive()["shape"]
        assert list(samples.typed_samples()) == samples.derive()["samples"]
    finally:
        samples._data.cache_clear()


def test_a_missing_store_is_derived_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samples, "STORE", tmp_path / "absent.json")
    samples._data.cache_clear()
    try:
        assert samples.context_shape() == samples.derive()["shape"]
    finally:
        samples._data.cache_clear()


def test_the_key_follows_the_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "engine"
    for name in samples.SOURCES:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((samples.ENGINE / name).read_bytes())
    monkeypatch.setattr(samples, "ENGINE", copy)
    key = samples.source_key()
    assert key == json.loads(samples.STORE.read_text(encoding="utf-8"))["key"]
    metrics = copy / "model" / "metrics.py"
    metrics.write_text(metrics.read_text(encoding="utf-8") + "\n# a field added\n")
    assert samples.source_key() != key
