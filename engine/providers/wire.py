"""Reading untrusted HTTP replies: a JSON object or a :class:`ProviderError` saying why not.

Pure functions over :class:`~engine.providers.http.HttpReply`. Every surprise — an HTML
page with status 200, a body that claims JSON but is not, JSON that is not an object, a
field of the wrong type — becomes a ProviderError whose message names the endpoint, the
status, the content type and the start of the body, never a ``KeyError`` or
``AttributeError`` from deep inside a parser.
"""

from __future__ import annotations

import json
from typing import Any

from engine.errors import ProviderError, ProviderTransient
from engine.providers.http import HttpReply
from engine.providers.transport import is_transient_status, parse_retry_after


def json_object(reply: HttpReply, label: str) -> dict[str, Any]:
    """The reply's body as a JSON object.

    The content type is not trusted either way: a JSON object served as ``text/plain``
    is accepted, an HTML page served as ``application/json`` is refused.
    """
    kind = reply.content_type or "no content type"
    try:
        value = json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProviderError(
            f"{label} answered HTTP {reply.status} ({kind}) with a body that is not JSON "
            f"({error}); it began: {reply.text(200)!r}"
        ) from None
    if not isinstance(value, dict):
        raise ProviderError(
            f"{label} answered HTTP {reply.status} with JSON {type(value).__name__}, "
            f"not an object: {reply.text(200)!r}"
        )
    return value


def error_detail(reply: HttpReply) -> str:
    """The server's own error text: ``error.message`` when the body has one, else the body."""
    try:
        data = json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return reply.text(300)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:300]
    if isinstance(error, str):
        return error[:300]
    if isinstance(data, dict) and isinstance(data.get("detail"), str | list):
        return str(data["detail"])[:300]  # FastAPI/pydantic servers (llama-cpp-python)
    return reply.text(300)


def status_error(reply: HttpReply, label: str, hints: dict[int, str]) -> ProviderError:
    """The error for a non-2xx reply: transient for 429/5xx (with retry-after), else not."""
    detail = f"{label} HTTP {reply.status}: {error_detail(reply)}"
    if is_transient_status(reply.status):
        return ProviderTransient(detail, parse_retry_after(reply.headers))
    hint = hints.get(reply.status, "a client error: retrying will not help")
    return ProviderError(f"{detail} ({hint})")


def field(data: Any, path: str, kind: type | tuple[type, ...], label: str) -> Any:
    """``data[a][b]...`` for ``path`` ``"a.b"`` (digits index lists), of type ``kind``."""
    value = data
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise ProviderError(f"{label} answer has no {path!r}: {_preview(data)}")
    if not isinstance(value, kind):
        raise ProviderError(
            f"{label} answer's {path!r} is {type(value).__name__}, not "
            f"{_kind_name(kind)}: {_preview(data)}"
        )
    return value


def count(data: Any, path: str) -> int:
    """An optional token count: a non-negative int at ``path``, else 0."""
    value = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _preview(data: Any) -> str:
    text = json.dumps(data)
    return text if len(text) <= 200 else text[:200] + " [...]"
