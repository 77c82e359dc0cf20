"""``openai_compat``: any OpenAI-compatible chat-completions server through the ``openai``
client (OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio). The only module that
imports ``openai``, lazily.

The client's own retries are off (``max_retries=0``): ratchet's tenacity layer is the only
one. The plan is requested with a ``json_schema`` response format; a server that rejects
it with a 400 is asked again without it (once per provider instance; remembered), and
the answer is then read tolerantly (first JSON object in the text). Endpoint:
``options.base_url``, else ``OPENAI_BASE_URL``, else OpenAI's. Key: ``OPENAI_API_KEY``
(or ``options.api_key_env``); local servers accept any key, so a missing key is sent as
``"not-needed"`` when a base URL is set.
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
    parse_retry_after,
    redact,
)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_ENDPOINT = "https://api.openai.com/v1"
KEY_VARIABLES = ("OPENAI_API_KEY",)

_HINTS = {
    400: "check provider.model and provider.options in directives.yaml",
    401: "check OPENAI_API_KEY",
    403: "check OPENAI_API_KEY and its permissions",
    404: "model or endpoint not found: check provider.model and OPENAI_BASE_URL",
}


class OpenAICompatTransport:
    """Calls ``chat.completions.create``. Constructing it does no I/O and imports nothing."""

    name = "openai_compat"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        key_name: str,
        base_url: str | None,
        json_schema: bool = True,
    ) -> None:
        self.model = model
        self.endpoint = base_url or DEFAULT_ENDPOINT
        self._api_key = api_key
        self._key_name = key_name
        self._base_url = base_url
        self._json_schema = json_schema  # flips to False when the server refuses it
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            key = self._api_key or ("not-needed" if self._base_url else None)
            if not key:
                raise ProviderUnavailable(
                    f"the openai_compat provider needs {self._key_name} (or OPENAI_BASE_URL "
                    "for a local server that takes no key)"
                )
            import openai

            self._client = openai.OpenAI(api_key=key, base_url=self._base_url, max_retries=0)
        return self._client

    def complete(self, request: LLMRequest) -> LLMReply:
        client = self._get_client()
        import openai

        messages = [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.prompt},
        ]
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": request.temperature,
            "max_tokens": request.max_output_tokens,
            "timeout": request.timeout,
        }
        try:
            try:
                response = client.chat.completions.create(**kwargs, **self._format(request))
            except openai.BadRequestError:
                if not self._json_schema:
                    raise
                # Many compatible servers reject json_schema: ask once more without it.
                self._json_schema = False
                response = client.chat.completions.create(**kwargs)
        except openai.APIStatusError as error:
            raise self._translate(error) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as error:
            kind = "timed out" if isinstance(error, openai.APITimeoutError) else "failed"
            raise ProviderTransient(
                redact(f"openai_compat request {kind}: {error}", [self._api_key])
            ) from None
        choices = response.choices or []
        text = (choices[0].message.content or "") if choices else ""
        usage = response.usage
        tokens_in = (usage.prompt_tokens if usage else 0) or estimate_tokens(
            request.system + request.prompt
        )
        tokens_out = (usage.completion_tokens if usage else 0) or estimate_tokens(text)
        return LLMReply(text=text, tokens_in=tokens_in, tokens_out=tokens_out)

    def _format(self, request: LLMRequest) -> dict[str, Any]:
        if not self._json_schema:
            return {}
        schema = {"name": "edit_plan", "schema": request.schema, "strict": False}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}

    def _translate(self, error: Any) -> ProviderError:
        status = int(error.status_code)
        message = getattr(error, "message", "") or str(error)
        detail = redact(f"openai_compat HTTP {status}: {message}", [self._api_key])
        if is_transient_status(status):
            return ProviderTransient(detail, parse_retry_after(error.response.headers))
        hint = _HINTS.get(status, "a client error: retrying will not help")
        return ProviderError(f"{detail} ({hint})")


def make_openai_compat(
    config: ProviderConfig, directives: Directives, *, env: Mapping[str, str] | None = None
) -> Provider:
    """The openai_compat provider for ``config``.

    Model: ``provider.model``, else ``OPENAI_MODEL``, else ``gpt-4o-mini``. Options:
    ``json_schema: false`` skips the response format for servers known to lack it.
    """
    env = os.environ if env is None else env
    options = dict(config.options)
    model = config.model or env.get("OPENAI_MODEL") or DEFAULT_MODEL
    key, key_name = env_secret(env, options, KEY_VARIABLES)
    base_url = options.get("base_url") or env.get("OPENAI_BASE_URL") or None
    transport = OpenAICompatTransport(
        model=model,
        api_key=key,
        key_name=key_name,
        base_url=base_url,
        json_schema=bool(options.get("json_schema", True)),
    )
    provider = LLMProvider(
        transport, LLMSettings.from_options(options, model), secrets=(key,) if key else ()
    )
    return provider
