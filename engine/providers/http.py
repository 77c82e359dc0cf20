"""The one HTTP seam of the remote providers: POST JSON, get bytes back, within a deadline.

:func:`post_json` (and :func:`get_json`, for a server's model list) are the only
functions in ratchet that talk HTTP (through ``httpx2``, the httpx fork that ``openai``
and ``google-genai`` already depend on). Their guarantees:

- **One total deadline per call**: connecting, sending, the status line, every read of
  the body — all of it ends within ``timeout`` seconds of the call, however the server
  behaves. The request runs in a worker thread that reads the body in chunks and checks
  the deadline after each one; the caller waits on the worker for at most the time left,
  so a server trickling one byte every two seconds, or one that stalls after the
  headers, cannot hold a call past its deadline. (httpx's own timeouts are per read; they
  are set to the whole budget too, so an abandoned worker ends by itself soon after.)
- **A size cap while reading**: a body larger than ``max_bytes`` is refused as soon as
  the cap is crossed, without buffering the rest.
- **Faults are ratchet's**: timeouts, refused or reset connections and truncated bodies
  raise :class:`~engine.errors.ProviderTransient` (worth a retry); an oversized body
  raises :class:`~engine.errors.ProviderError`. Nothing else escapes.

It never interprets the body: status, headers and bytes go back to the transport, which
owns the wire format (:mod:`.wire` checks shapes). For a streamed answer the transport
passes ``on_chunk``, called in the worker with every chunk as it arrives (within the same
deadline and cap); an exception it raises ends the call with that exception.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import ProviderError, ProviderTransient

MAX_BODY_BYTES = 8 * 1024 * 1024  # an edit plan is kilobytes; 8 MiB is generous


@dataclass(frozen=True)
class HttpReply:
    """What came back: status, lower-cased headers and the (capped) body."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def text(self, limit: int = 400) -> str:
        """The body as text, cut to ``limit`` characters (for error messages)."""
        text = self.body.decode("utf-8", errors="replace").strip()
        return text if len(text) <= limit else text[:limit] + " [...]"


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    headers: dict[str, str],
    timeout: float,
    max_bytes: int = MAX_BODY_BYTES,
    label: str = "request",
    on_chunk: Callable[[bytes], None] | None = None,
) -> HttpReply:
    """POST ``payload`` as JSON to ``url``; the reply within ``timeout`` seconds in total.

    ``label`` names the call in error messages (e.g. ``"openai_compat"``). Raises
    ProviderTransient (deadline, connection, truncated) or ProviderError (oversized
    body, invalid URL); see the module docstring.
    """
    body = json.dumps(payload).encode()
    return _within(url, "POST", body, headers, timeout, max_bytes, label, on_chunk)


def get_json(url: str, *, headers: dict[str, str], timeout: float, label: str) -> HttpReply:
    """GET ``url``; the reply within ``timeout`` seconds in total (as :func:`post_json`)."""
    return _within(url, "GET", None, headers, timeout, MAX_BODY_BYTES, label, None)


def _within(
    url: str,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
    max_bytes: int,
    label: str,
    on_chunk: Callable[[bytes], None] | None,
) -> HttpReply:
    """One exchange in a worker thread, waited on until the deadline (module docstring)."""
    if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
        raise ProviderError(f"{label}: timeout must be a positive number of seconds")
    deadline = time.monotonic() + timeout
    cancelled = threading.Event()
    outcome: list[HttpReply | BaseException] = []

    def work() -> None:
        try:
            outcome.append(
                _exchange(
                    url,
                    method,
                    body,
                    headers,
                    timeout,
                    deadline,
                    max_bytes,
                    cancelled,
                    label,
                    on_chunk,
                )  # fmt: skip
            )
        except BaseException as error:  # handed to the caller's thread, raised there
            outcome.append(error)

    # A daemon thread: an abandoned exchange never delays the process's exit (a pool's
    # worker would be joined at exit, holding run-once until the server lets go).
    worker = threading.Thread(target=work, name="ratchet-http", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        cancelled.set()
        raise ProviderTransient(
            f"{label} request timed out: no complete answer within {timeout:g}s"
        )
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _exchange(
    url: str,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
    deadline: float,
    max_bytes: int,
    cancelled: threading.Event,
    label: str,
    on_chunk: Callable[[bytes], None] | None = None,
) -> HttpReply:
    import httpx2

    started = time.monotonic()
    limits = httpx2.Timeout(timeout)
    sent = {
        "content-type": "application/json",
        "accept": "application/json",
        "accept-encoding": "identity",  # the size cap counts what the server sent
        **headers,
    }
    try:
        with (
            httpx2.Client(timeout=limits, follow_redirects=False, trust_env=True) as client,
            client.stream(method, url, content=body, headers=sent) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():  # as they arrive: a trickle is seen byte by byte
                size += len(chunk)
                if size > max_bytes:
                    raise ProviderError(f"{label} answer is larger than {max_bytes} bytes: refused")
                chunks.append(chunk)
                if on_chunk is not None and 200 <= response.status_code < 300:
                    on_chunk(chunk)
                if cancelled.is_set() or time.monotonic() > deadline:
                    raise ProviderTransient(f"{label} request timed out while reading")
            return HttpReply(
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=b"".join(chunks),
                seconds=time.monotonic() - started,
            )
    except httpx2.TimeoutException as error:
        raise ProviderTransient(f"{label} request timed out ({type(error).__name__})") from None
    except httpx2.InvalidURL as error:
        raise ProviderError(f"{label}: invalid URL {url!r}: {error}") from None
    except (httpx2.TransportError, httpx2.StreamError) as error:
        # Refused, reset, a truncated or garbled response: the network, not the config.
        raise ProviderTransient(
            f"{label} request failed: {type(error).__name__}: {error}"
        ) from None
