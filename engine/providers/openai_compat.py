"""``openai_compat``: any OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM,
llama.cpp's ``llama-server``, llama-cpp-python's server, LM Studio).

HTTP goes through :func:`~engine.providers.http.post_json` (one total deadline per call,
a size cap), not the ``openai`` SDK: every reply is checked here, so an HTML page, a
body that is not JSON, no ``choices`` or a ``null`` content become a
:class:`~engine.errors.ProviderError` with the reason. The response format is negotiated
(:mod:`.formats`): ``json_schema`` -> ``json_object`` with the schema -> ``json_object``
-> plain text, downgraded when the server refuses a level and remembered per endpoint.

Answers are streamed (``stream: true``, option ``stream``; :mod:`.sse`) so a slow local
model shows progress (``LLMRequest.on_progress``) and the call's time splits into the
prompt phase and the answer (for :mod:`.speed`); the seam's total deadline and size cap
still bound the whole stream. A server that ignores ``stream`` and answers one JSON body
is read as such.

Endpoint: ``options.base_url``, else ``OPENAI_BASE_URL``, else OpenAI's. Key:
``OPENAI_API_KEY`` (or ``options.api_key_env`` / ``api_key: ${VAR}``); local servers accept
any key, so a missing key is sent as ``not-needed`` when a base URL is set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from engine.errors import ContextTooLong, ProviderError, ProviderUnavailable
from engine.model import Directives, ProviderConfig
from engine.providers.base import Provider
from engine.providers.editformat import default_format, is_local_url
from engine.providers.formats import (
    LEVELS,
    FormatMemory,
    endpoint_key,
    is_format_refusal,
    response_format,
    start_level,
)
from engine.providers.http import HttpReply, get_json, post_json
from engine.providers.llm import LLMProvider, LLMSettings
from engine.providers.options import flag
from engine.providers.sse import StreamAssembler
from engine.providers.transport import LLMReply, LLMRequest, env_secret, estimate_tokens, redact
from engine.providers.window import window_refusal
from engine.providers.wire import count, error_detail, field, json_object, status_error

log = logging.getLogger("engine.providers")
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_ENDPOINT = "https://api.openai.com/v1"
KEY_VARIABLES = ("OPENAI_API_KEY",)
LABEL = "openai_compat"
CUT_SHARE = 0.6  # a prompt read as fewer of the server's tokens than this share was cut
CUT_MIN_TOKENS = 1500  # ... judged only for prompts this long (estimated)

_HINTS = {
    400: "check provider.model and provider.options in directives.yaml",
    401: "check OPENAI_API_KEY",
    403: "check OPENAI_API_KEY and its permissions",
    404: "model or endpoint not found: check provider.model and OPENAI_BASE_URL",
}


class OpenAICompatTransport:
    """POSTs ``{base_url}/chat/completions``. Constructing it does no I/O."""

    name = "openai_compat"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None,
        key_name: str,
        base_url: str | None,
        start: str = LEVELS[0],
        stream: bool = True,
    ) -> None:
        self.model = model
        self.endpoint = (base_url or DEFAULT_ENDPOINT).rstrip("/")
        self._api_key = api_key
        self._key_name = key_name
        self._base_url = base_url
        self._start = start
        self._stream = stream
        self._level: str | None = None  # the level that worked in this process
        self.level_used: str | None = None  # of the last successful call (for records)

    def complete(self, request: LLMRequest) -> LLMReply:
        key = self._api_key or ("not-needed" if self._base_url else None)
        if not key:
            raise ProviderUnavailable(
                f"the openai_compat provider needs {self._key_name} (or OPENAI_BASE_URL "
                "for a local server that takes no key)"
            )
        memory = FormatMemory(request.state_dir)
        mkey = endpoint_key(self.endpoint, self.model)
        first = max(
            LEVELS.index(self._start),
            LEVELS.index(self._level or memory.get(mkey) or self._start),
        )
        for level in LEVELS[first:]:
            reply, stream = self._call(request, key, level)
            if 200 <= reply.status < 300:
                answer = self._read(reply, request, stream)
                if level != self._level:
                    self._level = level
                    memory.put(mkey, level)
                self.level_used = level
                return answer
            too_long = window_refusal(reply.text(4000), prefix=f"{LABEL} HTTP {reply.status}: ")
            if too_long is not None:  # no response format helps (and none is forgotten)
                raise self._redacted(too_long)
            if level != LEVELS[-1] and is_format_refusal(reply.status, error_detail(reply)):
                log.info(
                    "%s: %s refused response format %s (HTTP %d); trying %s",
                    LABEL,
                    self.endpoint,
                    level,
                    reply.status,
                    LEVELS[LEVELS.index(level) + 1],
                )
                continue
            if reply.status == 404 and self._base_url:
                raise self._redacted(self._not_served(reply, key))
            raise self._redacted(status_error(reply, LABEL, _HINTS))
        raise AssertionError("unreachable: the last level always returns or raises")

    def _call(
        self, request: LLMRequest, key: str, level: str
    ) -> tuple[HttpReply, StreamAssembler | None]:
        """One call at ``level``: streamed, unless the server cannot. Asked again
        unstreamed when it closed its stream with no event (llama-cpp-python sends its 200,
        then fails: unstreamed, it says why) or refused the streaming fields (a 400 or 422
        naming ``stream``: not asked streamed again by this process)."""
        stream = (
            StreamAssembler(self.name, self.model, request.on_progress) if self._stream else None
        )
        reply = self._post(request, key, level, stream)
        if stream is None:
            return reply, None
        if _closed_empty(reply, stream):
            why = "closed its stream with no event"
        elif reply.status in (400, 422) and "stream" in error_detail(reply).lower():
            why = f"refused streaming (HTTP {reply.status}: {error_detail(reply)[:120]})"
            self._stream = False
        else:
            return reply, stream
        log.info("%s: %s %s; asking unstreamed", LABEL, self.endpoint, why)
        return self._post(request, key, level, None), None

    def _not_served(self, reply: HttpReply, key: str) -> ProviderError:
        """A 404 from a server of one's own (vLLM, Ollama: an unknown model name): the
        error names the models it serves (``GET /models``), so the fix is in the message."""
        error = status_error(reply, LABEL, _HINTS)
        try:
            listed = get_json(
                f"{self.endpoint}/models",
                headers={"authorization": f"Bearer {key}"},
                timeout=10,
                label=LABEL,
            )
            data = json_object(listed, LABEL) if listed.status == 200 else {}
        except ProviderError:
            return error
        entries = data.get("data") if isinstance(data, dict) else None
        served = [str(m["id"]) for m in entries or () if isinstance(m, dict) and m.get("id")]
        if not served or self.model in served:
            return error
        names = ", ".join(served[:10]) + (
            f" (+{len(served) - 10} more)" if len(served) > 10 else ""
        )
        return ProviderError(
            f"{LABEL} HTTP 404: {error_detail(reply)} (the server at {self.endpoint} serves "
            f"{names}, not {self.model!r}: set provider.model in directives.yaml, or "
            f"OPENAI_MODEL, to {served[0]!r})"
        )

    def _post(
        self, request: LLMRequest, key: str, level: str, stream: StreamAssembler | None
    ) -> HttpReply:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.prompt},
            ],
            "temperature": request.temperature,
            "max_tokens": request.max_output_tokens,
            "stream": stream is not None,
        }
        if stream is not None:
            payload["stream_options"] = {"include_usage": True}  # the last event's usage
        fmt = response_format(level, request.schema)
        if fmt is not None:
            payload["response_format"] = fmt
        try:
            return post_json(
                f"{self.endpoint}/chat/completions",
                payload,
                headers={"authorization": f"Bearer {key}"},
                timeout=request.timeout,
                label=LABEL,
                on_chunk=stream.feed if stream is not None else None,
            )
        except ProviderError as error:
            raise self._redacted(error) from None

    def _read(
        self, reply: HttpReply, request: LLMRequest, stream: StreamAssembler | None
    ) -> LLMReply:
        """A streamed answer from its events; else (or a server that ignored ``stream``)
        the one JSON body."""
        if stream is None or (not stream.events and reply.content_type != "text/event-stream"):
            return self._parse(reply, request)
        try:
            stream.finish()
        except ProviderError as error:  # an error event: perhaps the window's refusal
            raise self._redacted(window_refusal(str(error), prefix=f"{LABEL}: ") or error) from None
        text = stream.text
        if not text and stream.finish_reason is None:
            raise self._redacted(ProviderError(f"{LABEL} streamed no answer: {reply.text(200)!r}"))
        timings = stream.timings
        usage = {"usage": stream.usage, "timings": timings}
        reported = count(usage, "usage.prompt_tokens")
        self._check_cut(reported, request)
        tokens_in = reported or count(usage, "timings.prompt_n")
        first = stream.first_token_at or 0.0
        prompt_ms = _ms(timings, "prompt_ms")
        answer_ms = _ms(timings, "predicted_ms")
        return LLMReply(
            text=text,
            tokens_in=tokens_in or estimate_tokens(request.system + request.prompt),
            tokens_out=count(usage, "usage.completion_tokens")
            or count(usage, "timings.predicted_n")
            or len(stream.pieces),
            tokens_cached=count(usage, "usage.prompt_tokens_details.cached_tokens")
            or count(usage, "timings.cache_n"),
            prompt_seconds=prompt_ms if prompt_ms else round(first, 3),
            answer_seconds=answer_ms if answer_ms else round(max(0.0, reply.seconds - first), 3),
        )

    def _parse(self, reply: HttpReply, request: LLMRequest) -> LLMReply:
        try:
            data = json_object(reply, LABEL)
            choices = field(data, "choices", list, LABEL)
            if not choices:
                raise ProviderError(f"{LABEL} answer has no choices: {reply.text(200)!r}")
            message = field(data, "choices.0.message", dict, LABEL)
            content = message.get("content")
            if not isinstance(content, str):
                why = message.get("refusal") or f"content is {type(content).__name__}"
                raise ProviderError(f"{LABEL} answer has no text ({why}): {reply.text(200)!r}")
        except ProviderError as error:
            raise self._redacted(error) from None
        reported = count(data, "usage.prompt_tokens")
        self._check_cut(reported, request)
        return LLMReply(
            text=content,
            tokens_in=reported or estimate_tokens(request.system + request.prompt),
            tokens_out=count(data, "usage.completion_tokens") or estimate_tokens(content),
            tokens_cached=count(data, "usage.prompt_tokens_details.cached_tokens")
            or count(data, "timings.cache_n"),
            prompt_seconds=_ms(data.get("timings"), "prompt_ms"),
            answer_seconds=_ms(data.get("timings"), "predicted_ms"),
        )

    def _check_cut(self, reported: int, request: LLMRequest) -> None:
        """Ollama cuts a prompt longer than its ``num_ctx`` to fit, without an error: the
        model answered a prompt missing its start (the instructions). A server of one's own
        that says it read far fewer prompt tokens than ratchet sent did that: its answer is
        refused as the window's refusal (the provider asks again within ``reported``).
        Hosted APIs and the timings' count (which leaves out cached tokens) are not judged."""
        estimate = estimate_tokens(request.system + request.prompt)
        if not reported or not is_local_url(self._base_url) or estimate < CUT_MIN_TOKENS:
            return
        if reported < CUT_SHARE * estimate:
            raise ContextTooLong(
                f"{LABEL}: {self.endpoint} read {reported} tokens of a prompt of about "
                f"{estimate}: it cut the prompt to its context window without saying so "
                "(Ollama's num_ctx)",
                window=reported,
            )

    def _redacted(self, error: ProviderError) -> ProviderError:
        """The same kind of error with its message redacted (servers echo requests)."""
        error.args = (redact(str(error), [self._api_key]),)
        return error


def _closed_empty(reply: HttpReply, stream: StreamAssembler) -> bool:
    """A 200 event stream that ended before its first event (an empty body of another
    type is a broken answer: not JSON)."""
    started = reply.content_type == "text/event-stream"
    return 200 <= reply.status < 300 and started and not stream.events and not reply.body.strip()


def _ms(timings: Any, key: str) -> float:
    """llama.cpp's ``timings[key]`` (milliseconds) as seconds; 0 when absent."""
    value = timings.get(key) if isinstance(timings, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return 0.0
    return round(float(value) / 1000, 3)


def make_openai_compat(
    config: ProviderConfig, directives: Directives, *, env: Mapping[str, str] | None = None
) -> Provider:
    """The openai_compat provider for ``config``.

    Model: ``provider.model``, else ``OPENAI_MODEL``, else ``gpt-4o-mini``. Options:
    ``response_format`` (the first level to try, see :mod:`.formats`); the older
    ``json_schema: false`` starts at ``json_object_schema``; ``stream`` (default true).
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
        base_url=str(base_url) if base_url else None,
        start=start_level(options),
        stream=flag(options, "stream", True),
    )
    # The closed schema (enums of files/symbols, one shape per op) wherever the server
    # decodes against a schema; the edit format by provider class (local server or hosted).
    settings = LLMSettings.from_options(
        options,
        model,
        closed_schema=True,
        edit_format=default_format("openai_compat", transport.endpoint),
    )
    provider = LLMProvider(transport, settings, secrets=(key,) if key else ())
    return provider
