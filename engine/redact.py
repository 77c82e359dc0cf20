"""The one redactor: every text ratchet writes can pass through :func:`redact`.

Two layers, both applied to every text:

1. **Known values.** The actual secrets in use: each value handed to :func:`register`
   (the providers register the key they read, whatever variable it came from —
   ``GEMINI_API_KEY``, ``GOOGLE_API_KEY``, ``OPENAI_API_KEY``, an ``api_key_env`` or a
   ``${VAR}`` of ``options``), plus the value of every environment variable whose *name*
   says it holds a secret (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD`` ...).
   Values shorter than :data:`MIN_SECRET` characters are never treated as secrets: a
   short one would shred ordinary text (and ``not-needed`` is the placeholder sent to
   local servers).
2. **Key shapes**, redacted even when the value is unknown: ``sk-...``, ``AIza...``,
   ``ghp_...``/``github_pat_...``, ``AKIA...``, ``xox?-...``, ``Bearer <token>``, a query
   parameter ``?key=`` / ``&token=``, and a long token (16+ characters with a digit) after
   ``api_key=`` / ``secret:`` / ``token=`` / ``password=``.

What it refuses to touch: git object names and other plain hex (commit SHAs are in every
record), ``key=`` followed by code (``sorted(xs, key=len)``). Every match becomes
``[REDACTED]``. The module imports only the standard library, so any writer — records,
journal, CLI output, logs — can use it without pulling in the providers.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MARK = "[REDACTED]"
MIN_SECRET = 8  # characters; shorter values are not redacted by value

_SECRET_NAME = re.compile(
    r"(?i)(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)$"
)
_SHAPES: tuple[re.Pattern[str], ...] = (
    re.compile(r"sk-[0-9A-Za-z_\-]{16,}"),  # OpenAI, Anthropic (sk-ant-...), DeepSeek
    re.compile(r"AIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
    re.compile(r"\bgh[pousr]_[0-9A-Za-z]{30,}"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[0-9A-Za-z_]{30,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bxox[abprs]-[0-9A-Za-z\-]{10,}"),  # Slack
)
# (prefix kept, secret replaced)
_PREFIXED: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(\bbearer\s+)[0-9A-Za-z._~+/\-]{8,}=*"),
    re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|secret|sig)=)[^&#\s\"']+"),
    re.compile(
        r"(?i)(\b(?:api[_-]?key|apikey|secret|token|password|passwd|access[_-]?token)"
        r"[\"']?\s*[=:]\s*[\"']?)(?=[0-9A-Za-z+/_\-.]*\d)[0-9A-Za-z+/_\-.]{16,}=*"
    ),
)

_lock = threading.Lock()
_registered: set[str] = set()


def register(*values: str | None) -> None:
    """Remember secret values for every later :func:`redact` in this process."""
    with _lock:
        _registered.update(v for v in values if v and len(v) >= MIN_SECRET)


def registered() -> frozenset[str]:
    """The values :func:`register` was given (for tests and audits)."""
    with _lock:
        return frozenset(_registered)


def env_secrets(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """Values of the variables in ``env`` (default: ``os.environ``) named like secrets."""
    env = os.environ if env is None else env
    return frozenset(
        value
        for name, value in env.items()
        if value and len(value) >= MIN_SECRET and _SECRET_NAME.search(name)
    )


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret value and every key-shaped string replaced.

    Known values are ``secrets`` (given here), the registered ones and the secret-named
    environment variables. Longest values first, so a key that contains another is
    removed whole.
    """
    if not text:
        return text
    return _redact(text, _known(secrets))


def _known(secrets: Iterable[str | None] = ()) -> list[str]:
    """The known secret values, longest first (see :func:`redact`)."""
    values = {s for s in secrets if s and len(s) >= 4} | registered() | env_secrets()
    return sorted(values, key=len, reverse=True)


def _redact(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, MARK)
    for pattern in _SHAPES:
        text = pattern.sub(MARK, text)
    for pattern in _PREFIXED:
        text = pattern.sub(lambda m: m.group(1) + MARK, text)
    return text


def redact_data(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every string redacted, keys too.
    The known values are gathered once for the whole value."""
    return _redact_data(value, _known())


def _redact_data(value: Any, values: list[str]) -> Any:
    if isinstance(value, str):
        return _redact(value, values) if value else value
    if isinstance(value, dict):
        return {_redact_data(k, values): _redact_data(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_data(v, values) for v in value]
    return value
