"""A model endpoint's context window: read from its refusal, remembered, and fitted.

A server whose context window is smaller than ratchet's prompt refuses the call. The
refusals say so in a handful of shapes, which :func:`window_refusal` reads into a
:class:`~engine.errors.ContextTooLong` (the window and the prompt's real token count where
the server gives them):

- llama-cpp-python's server (``n_ctx`` 2048 unless started with ``--n_ctx``), vLLM and
  OpenAI: HTTP 400 ``This model's maximum context length is 2048 tokens. However, you
  requested 7113 tokens (7013 in the messages, 100 in the completion)`` (OpenAI: ``your
  messages resulted in N tokens``). Streamed, llama-cpp-python sends its 200 and then
  closes the stream with no event: the transport asks once more without streaming to hear
  why (:mod:`.openai_compat`);
- llama-cpp-python in-process (the ``local`` provider) and an older server's 500:
  ``Requested tokens (7013) exceed context window of 2048``;
- llama.cpp's ``llama-server``: ``exceed_context_size_error`` with ``n_ctx`` and
  ``n_prompt_tokens`` fields;
- LM Studio: ``... the model is loaded with context length of only 2048 tokens``;
  Hugging Face TGI: ``must be <= 4096. Given: 5000 `inputs` tokens``;
- anything else that names the context length, window or size: the window is unknown and
  taken as half of what was asked.

:class:`WindowMemory` keeps, per endpoint (``.ratchet/endpoint-windows.json``), the window
and the server's tokens per token of ratchet's own estimate (4 characters each: a small
model's tokenizer counts code at ~1.2x that), for a day: a server restarted with a larger
window is relearned after that, or at once by deleting the file. :func:`fit_window` gives
the context budget and answer length that fit it, so the provider builds a smaller
context and asks again (:class:`~engine.providers.llm.LLMProvider`) instead of failing
every call with the same refusal.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ContextTooLong
from engine.providers.statefile import StateFile
from engine.records.layout import endpoint_windows_file

USABLE = 0.9  # of the window a call plans to fill (the estimate of the template is rough)
MIN_ANSWER = 256  # tokens an edit plan needs at least
ANSWER_SHARE = 4  # ... and the answer gets at most 1/4 of a small window
MIN_CONTEXT = 300  # tokens of context below which no useful plan is possible
KEEP_SECONDS = 24 * 3600  # a remembered window is relearned after this
RATIO_BOUNDS = (0.5, 4.0)
UNKNOWN_RATIO = 1.3  # server tokens per estimated token when the refusal gives no counts
RAISE_IT = (
    "start the server with a larger context (llama-cpp-python: --n_ctx 8192; llama.cpp "
    "llama-server: -c 8192; Ollama: num_ctx; the local provider: options.n_ctx) or lower "
    "provider.options.max_output_tokens"
)

_NUMBERED = (
    # (pattern, group of the window, group of the prompt's tokens or 0)
    (r"maximum context length is (\d+) tokens.*?\((\d+) in the messages", 1, 2),
    (r"maximum context length is (\d+) tokens.*?messages resulted in (\d+) tokens", 1, 2),
    (r"maximum context length is (\d+) tokens", 1, 0),
    (r"requested tokens \((\d+)\) exceed context window of (\d+)", 2, 1),
    (r"keep the first (\d+) tokens.*?context length of only (\d+) tokens", 2, 1),
    (r"must be <= (\d+)\. given: (\d+) `inputs` tokens", 1, 2),
)
_UNNUMBERED = re.compile(
    r"context[ _](length|window|size)|exceed_context_size|prompt is too long|too many tokens",
    re.IGNORECASE,
)


def window_refusal(text: str, *, prefix: str = "") -> ContextTooLong | None:
    """The refusal in a server's error ``text`` (a JSON body or a message), or None when
    the text is about something else. ``prefix`` starts the error's message."""
    fields = _json_fields(text)
    window = _int(fields.get("n_ctx"))
    prompt = _int(fields.get("n_prompt_tokens"))
    if window is None:
        for pattern, w, p in _NUMBERED:
            match = re.search(pattern, text, re.IGNORECASE | re.DOTALL)
            if match:
                window = int(match.group(w))
                prompt = int(match.group(p)) if p else None
                break
        else:
            if not _UNNUMBERED.search(text):
                return None
    said = " ".join(text.split())[:300]
    return ContextTooLong(f"{prefix}{said}", window=window, prompt_tokens=prompt)


@dataclass(frozen=True, kw_only=True)
class Window:
    """An endpoint's context window in its own tokens, and its tokens per estimated one."""

    tokens: int
    ratio: float = 1.0


def learned(refusal: ContextTooLong, estimate: int, before: Window | None) -> Window:
    """What ``refusal`` of a prompt estimated at ``estimate`` tokens (system and user
    turn) teaches: the window it names, else half of what was asked (smaller than the
    window remembered ``before``, if any)."""
    ratio = before.ratio if before is not None else UNKNOWN_RATIO
    if refusal.prompt_tokens and estimate > 0:
        low, high = RATIO_BOUNDS
        ratio = min(high, max(low, refusal.prompt_tokens / estimate))
    if refusal.window:
        return Window(tokens=refusal.window, ratio=round(ratio, 3))
    asked = refusal.prompt_tokens or int(estimate * ratio)
    tokens = asked // 2
    if before is not None:
        tokens = min(tokens, before.tokens // 2)
    return Window(tokens=max(1, tokens), ratio=round(ratio, 3))


def fit_window(
    window: Window, *, configured: int, max_output_tokens: int, overhead_tokens: int
) -> tuple[int, int]:
    """``(context budget, answer tokens)`` of a call that fits ``window``: the answer gets
    ``max_output_tokens``, at most a quarter of the window (never under
    :data:`MIN_ANSWER`), the context the rest less ``overhead_tokens`` (system prompt and
    template), never above ``configured``. Raises ContextTooLong when not even
    :data:`MIN_CONTEXT` tokens of context fit."""
    usable = int(window.tokens * USABLE)
    answer = min(max_output_tokens, max(MIN_ANSWER, usable // ANSWER_SHARE))
    budget = int((usable - answer) / window.ratio) - overhead_tokens
    if budget < min(configured, MIN_CONTEXT):
        need = int((overhead_tokens + MIN_CONTEXT) * window.ratio) + answer
        raise ContextTooLong(
            f"the model's context window is {window.tokens} tokens: too small for an edit "
            f"plan (its instructions and the least useful context need ~{need} with the "
            f"answer); {RAISE_IT}",
            window=window.tokens,
        )
    return min(configured, budget), answer


class WindowMemory:
    """The windows learned per endpoint; a missing, corrupt or day-old entry is none."""

    def __init__(self, state_dir: Path | None, *, clock: Any = time.time) -> None:
        self._file = StateFile(endpoint_windows_file(state_dir) if state_dir else None)
        self._clock = clock

    def get(self, key: str) -> Window | None:
        found = self._entry(self._file.read().get(key))
        return found[0] if found is not None else None

    def entries(self) -> dict[str, tuple[Window, float]]:
        """Every window in force, by endpoint key, with when it was learned (epoch s)."""
        found = {key: self._entry(raw) for key, raw in sorted(self._file.read().items())}
        return {key: entry for key, entry in found.items() if entry is not None}

    def _entry(self, raw: Any) -> tuple[Window, float] | None:
        if not isinstance(raw, dict):
            return None
        tokens, ratio, at = raw.get("tokens"), raw.get("ratio"), raw.get("at")
        if not isinstance(tokens, int) or not isinstance(ratio, int | float):
            return None
        if not isinstance(at, int | float) or self._clock() - at > KEEP_SECONDS:
            return None
        low, high = RATIO_BOUNDS
        window = Window(tokens=max(1, tokens), ratio=min(high, max(low, float(ratio))))
        return window, float(at)

    def put(self, key: str, window: Window) -> None:
        data = self._file.read()
        data[key] = {"tokens": window.tokens, "ratio": window.ratio, "at": round(self._clock())}
        self._file.write(data)


def _json_fields(text: str) -> dict[str, Any]:
    """The ``error`` object of a JSON error body (llama-server's fields), else {}."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
