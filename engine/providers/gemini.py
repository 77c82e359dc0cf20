"""``gemini``: Google's Gemini API (``generateContent``, REST, API version ``v1beta``).

HTTP goes through :func:`~engine.providers.http.post_json` (one total deadline per call,
a size cap) rather than ``google-genai``: every reply is checked here, so an HTML page, a
body that is not JSON, no candidates or no text become a
:class:`~engine.errors.ProviderError` with the reason. The edit plan is requested as
structured output (``responseMimeType: application/json`` with a ``responseJsonSchema``);
the wire format is the one ``google-genai`` sends. ratchet's tenacity layer is the only
retry layer. Key: ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY`` (or the variable named by
``options.api_key_env``), sent in the ``x-goog-api-key`` header, never in the URL.
Endpoint: ``options.base_url``, else ``GOOGLE_GEMINI_BASE_URL``, else Google's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from engine.errors import ProviderError, ProviderTransient, ProviderUnavailable
from engine.model import Directives, ProviderConfig
from engine.providers.base import Provider
from engine.providers.http import HttpReply, post_json
from engine.providers.llm import LLMProvider, LLMSettings
from engine.providers.transport import (
    LLMReply,
    LLMRequest,
    env_secret,
    estimate_tokens,
    parse_duration,
    redact,
)
from engine.providers.wire import count, field, json_object, status_error

DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"
KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
LABEL = "gemini"

_HINTS = {
    400: "check provider.model and provider.options in directives.yaml",
    401: "check GEMINI_API_KEY",
    403: "check GEMINI_API_KEY and that the Gemini API is enabled for it",
    404: "the model was not found: check provider.model in directives.yaml",
}


class GeminiTransport:
    """POSTs ``{base}/{version}/models/{model}:generateContent``. The constructor does no I/O."""

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
        self.endpoint = (base_url or DEFAULT_ENDPOINT).rstrip("/")
        self._api_key = api_key
        self._key_name = key_name
        self._api_version = api_version

    def complete(self, request: LLMRequest) -> LLMReply:
        if not self._api_key:
            raise ProviderUnavailable(
                f"the gemini provider needs an API key: set {self._key_name} in the environment"
            )
        payload: dict[str, Any] = {
            "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "systemInstruction": {"parts": [{"text": request.system}]},
            "generationConfig": {
                "temperature": request.temperature,
                "maxOutputTokens": request.max_output_tokens,
                "responseMimeType": "application/json",
                "responseJsonSchema": request.schema,
            },
        }
        url = f"{self.endpoint}/{self._api_version}/models/{self.model}:generateContent"
        try:
            reply = post_json(
                url,
                payload,
                headers={"x-goog-api-key": self._api_key},
                timeout=request.timeout,
                label=LABEL,
            )
            if not 200 <= reply.status < 300:
                raise _status_error(reply)
            return _parse(reply, request)
        except ProviderError as error:
            error.args = (redact(str(error), [self._api_key]),)
            raise


def _status_error(reply: HttpReply) -> ProviderError:
    error = status_error(reply, LABEL, _HINTS)
    if isinstance(error, ProviderTransient) and error.retry_after is None:
        with contextlib.suppress(ProviderError):  # no JSON body: no RetryInfo either
            error.retry_after = _retry_delay(json_object(reply, LABEL))
    return error


def _parse(reply: HttpReply, request: LLMRequest) -> LLMReply:
    data = json_object(reply, LABEL)
    candidates = field(data, "candidates", list, LABEL)
    if not candidates:
        feedback = data.get("promptFeedback") or "none given"
        raise ProviderError(f"{LABEL} answer has no candidates (prompt feedback: {feedback})")
    parts = field(data, "candidates.0.content.parts", list, LABEL)
    texts = [
        p["text"]
        for p in parts
        if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
    ]
    if not texts:
        reason = candidates[0].get("finishReason") if isinstance(candidates[0], dict) else None
        raise ProviderError(f"{LABEL} answer has no text (finishReason {reason})")
    text = "".join(texts)
    return LLMReply(
        text=text,
        tokens_in=count(data, "usageMetadata.promptTokenCount")
        or estimate_tokens(request.system + request.prompt),
        # Thinking tokens are billed as output.
        tokens_out=(
            count(data, "usageMetadata.candidatesTokenCount")
            + count(data, "usageMetadata.thoughtsTokenCount")
        )
        or estimate_tokens(text),
        tokens_cached=count(data, "usageMetadata.cachedContentTokenCount"),
    )


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
