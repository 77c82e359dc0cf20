"""Reading a streamed chat completion (server-sent events) as it arrives.

``stream: true`` makes an OpenAI-compatible server send ``data: {chunk}`` lines, one per
few tokens, ending with ``data: [DONE]``. :class:`StreamAssembler` is fed the raw bytes
by the HTTP seam's worker (:func:`~engine.providers.http.post_json` ``on_chunk``) — the
seam keeps its total deadline and size cap — and:

- joins the ``choices[0].delta.content`` pieces into the answer;
- notes when the first answer token arrived (the end of the prompt phase) and calls the
  progress callback then, about once a second while the answer grows, and never more;
- keeps the last ``usage`` (``stream_options.include_usage``) and llama.cpp's
  ``timings`` (``prompt_n``, ``prompt_ms``, ``predicted_n``, ``predicted_ms``,
  ``cache_n``) for the call's record;
- turns a ``data: {"error": ...}`` event into a :class:`~engine.errors.ProviderError`.

A callback that raises is logged and ignored: a broken progress display never fails a call.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ProviderError

log = logging.getLogger("engine.providers")
PROGRESS_EVERY = 1.0  # seconds between progress events while the answer streams


@dataclass(frozen=True, kw_only=True)
class CallProgress:
    """A past-tense fact about one model call in flight (for a CLI/daemon progress line).

    ``phase``: ``"answering"`` (answer tokens are arriving; the prompt is processed) or
    ``"answered"`` (the stream ended). ``tokens_out`` counts the content pieces so far
    (one per token on llama.cpp, vLLM and OpenAI); ``seconds`` since the call started.
    """

    provider: str
    model: str
    phase: str
    tokens_out: int
    seconds: float
    first_token_seconds: float | None = None


ProgressCallback = Callable[[CallProgress], None]


@dataclass
class StreamAssembler:
    """Collects one streamed answer; :meth:`feed` takes bytes as they arrive."""

    provider: str
    model: str
    on_progress: ProgressCallback | None = None
    clock: Callable[[], float] = time.monotonic
    pieces: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    events: int = 0
    first_token_at: float | None = None  # seconds after the start
    done: bool = False

    def __post_init__(self) -> None:
        self._started = self.clock()
        self._buffer = b""
        self._last_progress = -PROGRESS_EVERY

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self._line(line.strip())

    def finish(self) -> None:
        """The body ended: read a last line without a newline and report the end."""
        if self._buffer.strip():
            self._line(self._buffer.strip())
            self._buffer = b""
        self._progress("answered", force=True)

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return  # comments (": ping"), "event:"/"id:" lines, blank separators
        data = line[5:].strip()
        if data == b"[DONE]":
            self.done = True
            return
        try:
            event = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ProviderError(
                f"streamed event is not JSON: {data[:120].decode('utf-8', 'replace')!r}"
            ) from None
        if not isinstance(event, dict):
            raise ProviderError(f"streamed event is not an object: {data[:120]!r}")
        self.events += 1
        self._event(event)

    def _event(self, event: dict[str, Any]) -> None:
        if "error" in event:
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise ProviderError(f"the server reported an error mid-stream: {message}")
        if isinstance(event.get("usage"), dict):
            self.usage = event["usage"]
        if isinstance(event.get("timings"), dict):
            self.timings = event["timings"]
        choices = event.get("choices")
        if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
            return
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str) and content:
            if self.first_token_at is None:
                self.first_token_at = self.clock() - self._started
            self.pieces.append(content)
            self._progress("answering")

    def _progress(self, phase: str, *, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = self.clock() - self._started
        if not force and now - self._last_progress < PROGRESS_EVERY:
            return
        self._last_progress = now
        try:
            self.on_progress(
                CallProgress(
                    provider=self.provider,
                    model=self.model,
                    phase=phase,
                    tokens_out=len(self.pieces),
                    seconds=round(now, 3),
                    first_token_seconds=(
                        round(self.first_token_at, 3) if self.first_token_at is not None else None
                    ),
                )
            )
        except Exception:  # a display bug must not fail the call
            log.exception("progress callback failed (ignored)")
