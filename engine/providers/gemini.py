"""``gemini``: Google's Gemini API through ``google-genai`` (never ``google-generativeai``,
which is end-of-life). The only module that imports ``google.genai``, lazily (it costs
seconds).

The edit plan is requested as structured output (``response_mime_type`` JSON with a
``response_json_schema``). The SDK's own retries stay off (no ``retry_options``): ratchet's
tenacity layer is the only one. Key: ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY`` (or the
variable named by ``options.api_key_env``). Endpoint: ``options.base_url``, else
``GOOGLE_GEMINI_BASE_URL``, else Google's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from engine.errors import ProviderError, ProviderTransient, ProviderUnavailable
from engine.model import Directives, ProviderConfig
from engine.providers.base import Provider
from engine.providers.llm import LLMProvider, LLMSettings
from engine.providers.transport import (
    LLMReply,
    LLMRequest,
    env_secret,
    estimate_tokens,
    is_transient_status,
    parse_duration,
    parse_retry_after,
    redact,
)

DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

_HINTS = {
    400: "check provider.model and provider.options in directives.yaml",
    401: "check GEMINI_API_KEY",
    403: "check GEMINI_API_KEY and that the Gemini API is enabled for it",
    404: "the model was not found: check provider.model in directives.yaml",
}


class GeminiTransport:
    """Calls ``models.generate_content``. Constructing it does no I/O and imports nothing."""

    name = "gemini"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        key_name: str,
        base_url: str | None,
        api_version: str = "v1beta",
    ) -> None:
        self.model = model
        self.endpoint = base_url or DEFAULT_ENDPOINT
        self._api_key = api_key
        self._key_name = key_name
        self._base_url = base_url
        self._api_version = api_version
        self._clients: dict[int, Any] = {}

    def _client(self, timeout_ms: int) -> Any:
        if not self._api_key:
            raise ProviderUnavailable(
                f"the gemini provider needs an API key: set {self._key_name} in the environment"
            )
        if timeout_ms not in self._clients:
            from google import genai
            from google.genai import types

            options = types.HttpOptions(
                base_url=self._base_url, api_version=self._api_version, timeout=timeout_ms
            )
            self._clients[timeout_ms] = genai.Client(
                api_key=self._api_key, vertexai=False, http_options=options
            )
        return self._clients[timeout_ms]

    def complete(self, request: LLMRequest) -> LLMReply:
        client = self._client(max(1, int(request.timeout * 1000)))
        import httpx2
        from google.genai import errors, types

        config = types.GenerateContentConfig(
            system_instruction=request.system,
            temperature=request.temperature,
            max_output_tokens=request.max_output_tokens,
            response_mime_type="application/json",
            response_json_schema=request.schema,
        )
        try:
            response = client.models.generate_content(
                model=self.model, contents=request.prompt, config=config
            )
        except errors.APIError as error:
            raise self._translate(error) from None
        except httpx2.TransportError as error:
            kind = "timed out" if isinstance(error, httpx2.TimeoutException) else "failed"
            raise ProviderTransient(
                redact(f"gemini request {kind}: {type(error).__name__}: {error}", [self._api_key])
            ) from None
        text = _text(response)
        meta = response.usage_metadata
        tokens_in = (meta.prompt_token_count if meta else None) or estimate_tokens(
            request.system + request.prompt
        )
        # Thinking tokens are billed as output.
        tokens_out = (
            (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0) if meta else 0
        ) or estimate_tokens(text)
        return LLMReply(text=text, tokens_in=tokens_in, tokens_out=tokens_out)

    def _translate(self, error: Any) -> ProviderError:
        status = int(error.code or 0)
        detail = redact(
            f"gemini HTTP {status} {error.status or ''}: {error.message or ''}", [self._api_key]
        )
        if is_transient_status(status):
            headers = getattr(getattr(error, "response", None), "headers", None)
            retry_after = parse_retry_after(headers) or _retry_delay(error.details)
            return ProviderTransient(detail, retry_after)
        hint = _HINTS.get(status, "a client error: retrying will not help")
        return ProviderError(f"{detail} ({hint})")


def _text(response: Any) -> str:
    """Concatenated text parts of the first candidate (thought parts excluded)."""
    for candidate in response.candidates or []:
        parts = candidate.content.parts if candidate.content else None
        if parts:
            return "".join(p.text for p in parts if p.text and not p.thought)
    return ""


def _retry_delay(details: Any) -> float | None:
    """Gemini puts the wait in ``error.details[@type=RetryInfo].retryDelay`` ("7s")."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    for item in error.get("details", []) if isinstance(error, dict) else []:
        if isinstance(item, dict) and "retryDelay" in item:
            return parse_duration(item["retryDelay"])
    return None


def make_gemini(
    config: ProviderConfig, directives: Directives, *, env: Mapping[str, str] | None = None
) -> Provider:
    """The gemini provider for ``config`` (model default ``gemini-2.5-flash``).

    Reads the key now but validates it on the first call, so building never fails on a
    missing key; ``propose`` raises ProviderUnavailable then. No fallback: the registry
    wraps one around it.
    """
    env = os.environ if env is None else env
    options = dict(config.options)
    model = config.model or DEFAULT_MODEL
    key, key_name = env_secret(env, options, KEY_VARIABLES)
    base_url = options.get("base_url") or env.get("GOOGLE_GEMINI_BASE_URL") or None
    transport = GeminiTransport(
        model=model,
        api_key=key,
        key_name=key_name,
        base_url=base_url,
        api_version=str(options.get("api_version", "v1beta")),
    )
    provider = LLMProvider(
        transport, LLMSettings.from_options(options, model), secrets=(key,) if key else ()
    )
    return provider
