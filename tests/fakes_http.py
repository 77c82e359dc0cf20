"""Real HTTP servers on 127.0.0.1 that speak the model APIs' wire formats.

``FakeModelServer.gemini(script)`` answers ``POST /v1beta/models/{model}:generateContent``
like the Gemini API; ``FakeModelServer.openai(script)`` answers ``POST
/v1/chat/completions`` like OpenAI. ``script`` is a list of :class:`Reply` served in order
(the last one repeats). Every request is recorded (path, headers, JSON body). Any other
path gets a 404, so a client speaking the wrong wire format fails loudly.
"""

from __future__ import annotations

import json
import re
import threading
import time
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


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeModelServer:
    """Context manager: ``with FakeModelServer.gemini([...]) as server: server.url``."""

    def __init__(self, path: re.Pattern[str], script: list[Reply]) -> None:
        self.path = path
        self.script = list(script)
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def gemini(cls, script: list[Reply]) -> FakeModelServer:
        return cls(GEMINI_PATH, script)

    @classmethod
    def openai(cls, script: list[Reply]) -> FakeModelServer:
        return cls(OPENAI_PATH, script)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            index = min(len(self.requests), len(self.script)) - 1
            return self.script[index]

    def __enter__(self) -> FakeModelServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
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
                if reply.delay:
                    time.sleep(reply.delay)
                if isinstance(reply.body, dict | list):
                    data = json.dumps(reply.body).encode()
                elif isinstance(reply.body, str):
                    data = reply.body.encode()
                else:
                    data = reply.body or b""
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests): nothing to answer

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


def openai_ok(text: str, tokens_in: int = 120, tokens_out: int = 30) -> Reply:
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
            "usage": {
                "prompt_tokens": tokens_in,
                "completion_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
        },
    )


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
