"""Commit messages with trailers: build them and read them back (pure, no git).

A message is ``subject``, a blank line, the body, a blank line, then one ``Key: value`` line per
trailer: the layout ``git interpret-trailers`` understands, so ``git log --format=%(trailers)``
works on ratchet's commits.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_TRAILER_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*): (.*)$")


def format_message(subject: str, body: str = "", trailers: dict[str, str] | None = None) -> str:
    """Build a commit message.

    The subject usually comes from a model's summary, so its whitespace (newlines included) is
    collapsed to single spaces; an empty subject is refused. Trailer keys must be
    ``[A-Za-z0-9-]`` words and values one line: anything else raises ValueError, because a
    newline would let a value forge further trailers.
    """
    subject = " ".join(subject.split())
    if not subject:
        raise ValueError("commit subject is empty")
    parts = [subject]
    if body.strip():
        parts.append(body.strip("\n").rstrip())
    lines = []
    for key, value in (trailers or {}).items():
        if not _KEY.match(key):
            raise ValueError(f"trailer key {key!r} must be letters, digits and '-'")
        if "\n" in value or "\r" in value:
            raise ValueError(f"trailer {key!r} value must be one line, got {value!r}")
        lines.append(f"{key}: {value.strip()}")
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def parse_trailers(message: str) -> dict[str, str]:
    """The trailers of a message: its last paragraph, when every line there is ``Key: value``
    and it is not the subject. Later duplicates win."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    matches = [_TRAILER_LINE.match(line) for line in paragraphs[-1].strip().splitlines()]
    if not all(matches):
        return {}
    return {m.group(1): m.group(2) for m in matches if m}
