"""Real HTTP servers on 127.0.0.1 that speak the model APIs' wire formats.

``FakeModelServer.gemini(script)`` answers ``POST /v1beta/models/{model}:generateContent``
like the Gemini API; ``FakeModelServer.openai(script)`` answers ``POST
/v1/chat/completions`` like OpenAI. ``script`` is a list of :class:`Reply` served in order
(the last one repeats); a script item may also be a function of the :class:`Recorded`
request returning a Reply (e.g. one that echoes the Authorization header). Every request
is recorded (path, headers, JSON body). Any other path gets a 404, so a client speaking
the wrong wire format fails loudly.

A :class:`Reply` can also misbehave on purpose (the loopback fault server): trickle its
body one byte at a time, stall after the headers, reset the connection, send a truncated
body under a longer ``content-length``, or declare any content type. Waits end early when
the server shuts down, so no handler thread outlives a test by more than a moment.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GEMINI_PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):generateContent$")
OPENAI_PATH = re.compile(r"^/v1/chat/completions$")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; str/bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    content_type: str = "application/json"
    trickle: float = 0.0  # seconds between single bytes of the body
    stall: float = 0.0  # seconds to wait after the headers, before the body
    reset: bool = False  # drop the connection with a TCP reset instead of answering
    cut: int | None = None  # send only this many body bytes (content-length stays full)
    events: tuple[bytes, ...] = ()  # a streamed body: each part sent after ``gap`` seconds
    gap: float = 0.0


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Script = list[Reply | Callable[[Recorded], Reply]]


class FakeModelServer:
    """Context manager: ``with FakeModelServer.gemini([...]) as server: server.url``."""

    def __init__(self, path: re.Pattern[str], script: Script) -> None:
        self.path = path
        self.script = list(script)
        self.requests: list[Recorded] = []
        self.models: list[str] | None = None  # GET /v1/models lists these (None: 404)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def gemini(cls, script: Script) -> FakeModelServer:
        return cls(GEMINI_PATH, script)

    @classmethod
    def openai(cls, script: Script) -> FakeModelServer:
        return cls(OPENAI_PATH, script)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            index = min(len(self.requests), len(self.script)) - 1
            item = self.script[index]
        return item if isinstance(item, Reply) else item(recorded)

    def __enter__(self) -> FakeModelServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path.split("?", 1)[0] == "/v1/models" and fake.models is not None:
                    listed = [{"id": m, "object": "model"} for m in fake.models]
                    self._send(Reply(200, {"object": "list", "data": listed}))
                    return
                self._send(Reply(404, {"error": {"message": f"no route {self.path}"}}))

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                path = self.path.split("?", 1)[0]
                if not fake.path.match(path):
                    self._send(Reply(404, {"error": {"message": f"no route {path}"}}))
                    return
                recorded = Recorded(path, {k.lower(): v for k, v in self.headers.items()}, body)
                self._send(fake._next(recorded))

            def _send(self, reply: Reply) -> None:
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                if reply.events:
                    self._stream(reply)
                    return
                if reply.reset:
                    # SO_LINGER 0: close() sends a RST, as a crashing proxy would.
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                    return
                if isinstance(reply.body, dict | list):
                    data = json.dumps(reply.body).encode()
                elif isinstance(reply.body, str):
                    data = reply.body.encode()
                else:
                    data = reply.body or b""
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.flush()
                    if reply.stall and fake._stopping.wait(reply.stall):
                        return
                    body = data if reply.cut is None else data[: reply.cut]
                    if reply.trickle:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            if fake._stopping.wait(reply.trickle):
                                return
                    else:
                        self.wfile.write(body)
                    if reply.cut is not None:
                        self.wfile.flush()
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests): nothing to answer

            def _stream(self, reply: Reply) -> None:
                """Server-sent events, no content-length: the body ends when we close."""
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "text/event-stream")
                    self.end_headers()
                    self.wfile.flush()
                    if reply.stall and fake._stopping.wait(reply.stall):
                        return
                    for part in reply.events:
                        self.wfile.write(part)
                        self.wfile.flush()
                        if reply.gap and fake._stopping.wait(reply.gap):
                            return
                    self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- wire bodies


def gemini_ok(text: str, tokens_in: int = 120, tokens_out: int = 30) -> Reply:
    return Reply(
        200,
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": tokens_in,
                "candidatesTokenCount": tokens_out,
                "totalTokenCount": tokens_in + tokens_out,
            },
            "modelVersion": "gemini-2.5-flash",
        },
    )


def gemini_error(
    status: int,
    message: str = "error",
    *,
    retry_delay: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    names = {
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        401: "UNAUTHENTICATED",
        400: "INVALID_ARGUMENT",
    }
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": names.get(status, "UNKNOWN"),
    }
    if retry_delay is not None:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        ]
    return Reply(status, {"error": error}, headers or {})


def openai_ok(
    text: str | None, tokens_in: int = 120, tokens_out: int = 30, cached: int | None = None
) -> Reply:
    usage: dict[str, Any] = {
        "prompt_tokens": tokens_in,
        "completion_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return Reply(
        200,
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        },
    )


def openai_stream(
    text: str,
    *,
    pieces: int = 8,
    usage: dict[str, Any] | None = None,
    timings: dict[str, Any] | None = None,
    stall: float = 0.0,
    gap: float = 0.0,
) -> Reply:
    """A ``stream: true`` answer: ``text`` in ``pieces`` deltas, then the usage (as with
    ``stream_options.include_usage``) and llama.cpp's ``timings`` when given, then
    ``[DONE]``. ``stall``: seconds before the first event (the prompt phase); ``gap``:
    between events (the answer)."""
    size = max(1, -(-len(text) // pieces))
    parts = [text[i : i + size] for i in range(0, len(text), size)]

    def event(data: dict[str, Any]) -> bytes:
        return f"data: {json.dumps(data)}\n\n".encode()

    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": "fake-model"}
    events = [event({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})]
    events += [
        event({**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]})
        for p in parts
    ]
    last: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    if timings is not None:
        last["timings"] = timings
    events.append(event(last))
    if usage is not None:
        events.append(event({**base, "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return Reply(200, events=tuple(events), stall=stall, gap=gap)


def openai_error(
    status: int,
    message: str = "error",
    *,
    headers: dict[str, str] | None = None,
    retry_delay: str | None = None,
) -> Reply:
    del retry_delay  # OpenAI has no body-level retry delay; headers carry it
    body = {"error": {"message": message, "type": "server_error", "code": None, "param": None}}
    return Reply(status, body, headers or {})


# --------------------------------------------------------------------------- servers people run

# Which response_format each OpenAI-compatible server accepts, as documented or observed:
# the refusal each gives otherwise. ``None`` stands for "no response_format" (plain text).
VENDOR_FORMATS: dict[str, tuple[str | None, ...]] = {
    # OpenAI: json_schema (structured outputs), json_object (JSON mode), text.
    "openai": ("json_schema", "json_object", None),
    # vLLM: json_schema and json_object through its guided decoding (schema key ignored).
    "vllm": ("json_schema", "json_object", "json_object_schema", None),
    # llama.cpp llama-server: json_schema, and json_object with a "schema" (a grammar).
    "llama-server": ("json_schema", "json_object", "json_object_schema", None),
    # Ollama >= 0.5 (OpenAI-compatible endpoint): json_schema and json_object.
    "ollama": ("json_schema", "json_object", None),
    # LM Studio >= 0.3: json_schema or text only ("must be 'json_schema' or 'text'").
    "lmstudio": ("json_schema", None),
    # llama-cpp-python's server: text or json_object (+ schema -> grammar); json_schema is a
    # pydantic validation error answered with HTTP 500.
    "llama-cpp-python": ("json_object", "json_object_schema", None),
}


def _format_of(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    kind = fmt.get("type")
    return "json_object_schema" if kind == "json_object" and "schema" in fmt else kind


def vendor(kind: str, text: str, **usage: Any) -> Callable[[Recorded], Reply]:
    """A script item answering ``text`` the way server ``kind`` would (see VENDOR_FORMATS)."""
    accepted = VENDOR_FORMATS[kind]

    def answer(recorded: Recorded) -> Reply:
        fmt = _format_of(recorded.body)
        if fmt in accepted:
            return openai_ok(text, **usage)
        if kind == "llama-cpp-python":
            message = (
                "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
                "  Input should be 'text' or 'json_object' [type=literal_error, "
                f"input_value='{fmt}', input_type=str]"
            )
            return Reply(500, {"error": {"message": message, "type": "internal_server_error"}})
        if kind == "lmstudio":
            return Reply(400, {"error": "'response_format.type' must be 'json_schema' or 'text'"})
        return openai_error(400, f"response_format {fmt!r} is not supported by {kind}")

    return answer
