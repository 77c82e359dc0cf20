"""Request cache: an identical model call is answered from disk instead of paid again.

Entries live in ``<state_dir>/cache/llm/<key[:2]>/<key>.json``, keyed by
:meth:`LLMRequest.cache_key` (sha256 of provider, model, prompt and settings). Only
answers of a conversation that ended in a valid edit plan are stored (the caller decides),
so a failed one is never replayed. A corrupt entry reads as a miss. No key or header is stored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.providers.transport import LLMReply
from engine.records.layout import llm_cache_dir


class ResponseCache:
    """A directory of cached replies; ``root`` None disables caching."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    @classmethod
    def under(cls, state_dir: Path | None, *, enabled: bool = True) -> ResponseCache:
        """The cache of a repository's ``.ratchet`` state dir (disabled without one)."""
        return cls(llm_cache_dir(state_dir) if state_dir is not None and enabled else None)

    def _path(self, key: str) -> Path | None:
        return self.root / key[:2] / f"{key}.json" if self.root is not None else None

    def get(self, key: str) -> LLMReply | None:
        """The stored reply for ``key``, or None (miss, disabled or unreadable)."""
        path = self._path(key)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text())
            return LLMReply(
                text=str(data["text"]),
                tokens_in=int(data.get("tokens_in", 0)),
                tokens_out=int(data.get("tokens_out", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, reply: LLMReply) -> None:
        """Store ``reply`` atomically (a crash never leaves a half-written entry)."""
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps(
                {"text": reply.text, "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out}
            )
        )
        os.replace(tmp, path)
