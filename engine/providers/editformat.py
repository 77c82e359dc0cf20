"""Edit formats: which op shapes a model is asked to answer in (option ``edit_format``).

``replace`` (whole definitions: replace/insert/delete/add_import/create),
``search_replace`` (exact text -> new text), ``patch`` (a unified diff per file) or
``all`` (every op). The format decides the op list and the example in the system prompt
and the ops the JSON schema offers (so constrained decoding can only produce them); the
answer validator still accepts any well-formed op. ``auto`` picks per provider class,
from ``benchmarks/edit_formats.py`` (measured figures: docs/providers.md):

- ``local`` (in-process GGUF) and ``openai_compat`` on a loopback or private address
  (a local server, i.e. a small model): :data:`SMALL_MODEL_FORMAT`;
- hosted endpoints (``openai_compat`` elsewhere, ``gemini``): ``all``.

The system prompt depends only on the format, so it stays byte-identical across attempts
and cycles (the prefix a server's cache keeps).
"""

from __future__ import annotations

import ipaddress
import json
from functools import cache
from urllib.parse import urlsplit

from engine.model import EDIT_FORMATS
from engine.providers.templates import load_prompt

SMALL_MODEL_FORMAT = "replace"
"""The measured best for small local models (benchmarks/edit_formats.py)."""

_OPS = {
    "replace": '- replace: {"file", "op": "replace", "symbol", "code": the complete new '
    "definition of the symbol}",
    "insert": '- insert: {"file", "op": "insert", "after": a symbol or "" for the end of the '
    'file, "code": a new def or class}',
    "delete": '- delete: {"file", "op": "delete", "symbol"}',
    "add_import": '- add_import: {"file", "op": "add_import", "code": "from pathlib import Path"}',
    "create": '- create: {"file": a new path, "op": "create", "code": the whole new file}',
    "search_replace": '- search_replace: {"file", "op": "search_replace", "search": exact text '
    'of the file (whole lines, enough to be unique), "replace": its new text}',
    "patch": '- patch: {"file", "op": "patch", "code": a unified diff of the file: hunks '
    "starting '@@ -L,N +L,N @@', then lines starting with ' ' (unchanged), '-' (removed) "
    "or '+' (added)}",
}

_OLD_BODY = (
    "    if x < lo:\n        return lo\n    else:\n        if x > hi:\n"
    "            return hi\n        return x\n"
)
_NEW_BODY = "    return max(lo, min(x, hi))\n"
_DOC = '    """Limit x to the range [lo, hi]."""\n'
_FILE = "example/mathutil.py"
_EDITS = {
    "replace": {
        "file": _FILE,
        "op": "replace",
        "symbol": "clamp",
        "code": "def clamp(x, lo, hi):\n" + _DOC + _NEW_BODY,
    },
    "search_replace": {
        "file": _FILE,
        "op": "search_replace",
        "search": _OLD_BODY,
        "replace": _NEW_BODY,
    },
    "patch": {
        "file": _FILE,
        "op": "patch",
        "code": "@@ -2,7 +2,2 @@\n"
        + _DOC.replace("    ", "     ", 1)
        + "".join("-" + line + "\n" for line in _OLD_BODY.splitlines())
        + "+"
        + _NEW_BODY,
    },
}
_CODE_RULES = {
    "replace": '- "code" is complete, valid Python: a whole definition with its decorators and '
    "docstring,\n  written at indentation zero (the tool re-indents methods).",
    "search_replace": '- "search" is copied exactly from the file, whole lines with their '
    'indentation;\n  "replace" is the new text of those lines, valid Python in place.',
    "patch": "- A patch's unchanged and removed lines are copied exactly from the file, with "
    "their\n  indentation after the one-character prefix; the result must be valid Python.",
}


def default_format(provider: str, base_url: str | None = None) -> str:
    """The provider class's format, used when ``options.edit_format`` is ``auto`` (the option
    itself is read by :meth:`LLMSettings.from_options`)."""
    if provider == "local" or (provider == "openai_compat" and is_local_url(base_url)):
        return SMALL_MODEL_FORMAT
    return "all"


def is_local_url(base_url: str | None) -> bool:
    """A loopback, private or ``localhost`` host: a server on this machine or network."""
    if not base_url:
        return False
    host = urlsplit(base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def format_ops(edit_format: str) -> tuple[str, ...]:
    return EDIT_FORMATS.get(edit_format, EDIT_FORMATS["all"])


@cache
def system_prompt(edit_format: str) -> str:
    """The system prompt asking for ``edit_format``'s ops (byte-stable per format)."""
    ops = format_ops(edit_format)
    shape = next((op for op in ("replace", "search_replace", "patch") if op in ops), "replace")
    example = {
        "summary": "Flatten the nested ifs in clamp",
        "rationale": "min and max state the bounds directly; behaviour is unchanged",
        "edits": [_EDITS[shape]],
    }
    rules = [_CODE_RULES[op] for op in ("replace", "search_replace", "patch") if op in ops]
    symbolic = any(op in ops for op in ("replace", "insert", "delete"))
    note = '; "symbol" and "after" are qualified names such as "func" or "Class.method"'
    return load_prompt("system").substitute(
        symbol_note=note if symbolic else "",
        ops="\n".join(_OPS[op] for op in ops),
        example=json.dumps(example),
        code_rule="\n".join(rules),
    )
