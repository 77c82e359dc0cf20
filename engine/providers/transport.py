"""The network seam of the model providers: one call in, one reply out.

A :class:`Transport` turns an :class:`LLMRequest` (system text, prompt, JSON schema,
settings) into an :class:`LLMReply` (text and token counts). Each model provider module
(``gemini``, ``openai_compat``, ``local``) holds exactly one transport and is the only
module that imports its SDK. Transports translate their SDK's faults into ratchet's:

- :class:`~engine.errors.ProviderTransient` for rate limits (429), 5xx, timeouts and
  connection errors (with the server's retry-after when it gave one): worth a retry;
- :class:`~engine.errors.ProviderError` for everything else (4xx config errors, a missing
  key): retrying will not help.

Every message that leaves a transport goes through :func:`~engine.redact.redact` (re-exported
here): keys never reach logs, records or commits; :func:`env_secret` registers each key it
reads with the redactor. :class:`CallableTransport` ships here so tests and benchmarks can
pass a plain function instead of a server.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.errors import ConfigError, ConfigIssue
from engine.providers.sse import ProgressCallback
from engine.redact import redact as redact  # re-exported: the providers' one redactor
from engine.redact import register

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, kw_only=True)
class LLMRequest:
    """One model call. ``schema`` is the JSON schema the answer must follow."""

    system: str
    prompt: str
    schema: dict[str, Any]
    temperature: float = 0.2
    max_output_tokens: int = 2048
    timeout: float = 120.0  # seconds for this one call, in total
    state_dir: Path | None = None  # where a transport may remember endpoint facts
    on_progress: ProgressCallback | None = field(default=None, compare=False)  # streaming

    def cache_key(self, provider: str, model: str) -> str:
        """sha256 of everything that shapes the answer (model, prompt, settings).

        The timeout, the state dir, the progress callback and any key are deliberately
        left out: they do not change the answer.
        """
        material = json.dumps(
            {
                "provider": provider,
                "model": model,
                "system": self.system,
                "prompt": self.prompt,
                "schema": self.schema,
                "temperature": self.temperature,
                "max_output_tokens": self.max_output_tokens,
            },
            sort_keys=True,
        )
        return hashlib.sha256(material.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class LLMReply:
    """What the model said, and what it cost in tokens (as reported, else estimated).

    ``tokens_cached`` is the part of ``tokens_in`` the server answered from its prefix
    cache, when it says so (``usage.prompt_tokens_details.cached_tokens``, Gemini's
    ``cachedContentTokenCount``, llama.cpp's ``timings.cache_n``); 0 when it does not
    report it. ``prompt_seconds`` / ``answer_seconds`` split the call's time into the
    prompt phase (until the first answer token) and the answer, when known (a streamed
    answer, or llama.cpp's ``timings``); 0 when not.
    """

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    prompt_seconds: float = 0.0
    answer_seconds: float = 0.0


class Transport(Protocol):
    """Sends one request to one model. Constructors do no I/O; the first call connects."""

    name: str  # provider name, e.g. "gemini"
    model: str
    endpoint: str  # where calls go (base URL or model path): names the circuit breaker

    def complete(self, request: LLMRequest) -> LLMReply:
        """Return the model's reply; raise ProviderTransient / ProviderError on faults."""
        ...


class CallableTransport:
    """A transport backed by a function: the fake for tests and benchmarks."""

    def __init__(
        self,
        handler: Callable[[LLMRequest], LLMReply],
        *,
        name: str = "callable",
        model: str = "fake",
        endpoint: str = "memory",
    ) -> None:
        self._handler = handler
        self.name = name
        self.model = model
        self.endpoint = endpoint

    def complete(self, request: LLMRequest) -> LLMReply:
        return self._handler(request)


CHARS_PER_TOKEN = 4  # of ratchet's own estimate (estimate_tokens)


def estimate_tokens(text: str) -> int:
    """Cheap token estimate: one token per 4 characters, rounded up.

    Real tokenizers give 3-5 characters per token on English and code; 4 is the common
    rule of thumb and errs on the generous side for code. Used for context budgets and
    for usage when a server does not report token counts.
    """
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_duration(value: Any) -> float | None:
    """``"7s"`` / ``"1.5s"`` (protobuf Duration JSON, as in Gemini's RetryInfo) -> seconds."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    return None


def is_transient_status(status: int) -> bool:
    """429 and 5xx are worth a retry; every other 4xx is a configuration error."""
    return status == 429 or status >= 500


def env_secret(
    env: Mapping[str, str], options: Mapping[str, Any], names: tuple[str, ...]
) -> tuple[str | None, str]:
    """``(value, variable name)`` of the first set variable (value None: none is set).

    ``options.api_key: ${VAR}`` or ``options.api_key_env: VAR`` names the variable to read
    instead of ``names``. Secrets come from the environment only: a literal ``api_key`` in
    directives.yaml would be committed, so it raises ConfigError.
    """
    candidates = names
    if options.get("api_key") is not None:
        match = _ENV_REF.fullmatch(str(options["api_key"]).strip())
        if match is None:
            raise ConfigError(
                ConfigIssue(
                    "directives.yaml",
                    0,
                    0,
                    "provider.options.api_key",
                    "a literal API key in a repository file",
                    "set the key in the environment and write 'api_key: ${VAR_NAME}'",
                )
            )
        candidates = (match.group(1),)
    elif options.get("api_key_env"):
        candidates = (str(options["api_key_env"]),)
    for name in candidates:
        value = env.get(name)
        if value:
            register(value)
            return value, name
    return None, " or ".join(candidates)
