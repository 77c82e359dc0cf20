"""A structural scan of a YAML file before the loader composes it: the daemon's backstop
against documents that cost far more to load than their size.

It reads PyYAML's event stream (linear in the input; aliases are not expanded and nesting
uses no recursion) and refuses, with the position of the offending node:

- undecodable bytes and characters YAML forbids (NUL and other control bytes);
- nesting deeper than :data:`MAX_DEPTH`;
- more than :data:`MAX_NODES` nodes once every alias is expanded (a "billion laughs").

``engine.config`` has its own limits; this only keeps a running daemon safe whatever the
loader does.
"""

from __future__ import annotations

import yaml

from engine.errors import ConfigIssue

MAX_DEPTH = 100
MAX_NODES = 100_000
MAX_BRACKETS = 1000  # unclosed [ and { in the raw text: PyYAML's scanner is quadratic in them
_FIX = "fix the file and save it again"


def _position(text: bytes, offset: int) -> tuple[int, int]:
    line = text.count(b"\n", 0, offset) + 1
    return line, offset - (text.rfind(b"\n", 0, offset) + 1) + 1


def _bracket_depth(data: bytes) -> tuple[int, int]:
    """The deepest run of unclosed flow brackets, and where it passed :data:`MAX_BRACKETS`."""
    depth = 0
    for offset, byte in enumerate(data):
        if byte in b"[{":
            depth += 1
            if depth > MAX_BRACKETS:
                return depth, offset
        elif byte in b"]}" and depth:
            depth -= 1
    return depth, 0


def scan(data: bytes, name: str) -> ConfigIssue | None:
    """None when ``data`` is safe to hand to the loader, else the first problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        return ConfigIssue(name, line, col, "(file)", f"not UTF-8 text ({exc.reason})", _FIX)
    depth, offset = _bracket_depth(data)
    if depth > MAX_BRACKETS:
        line, col = _position(data, offset)
        return ConfigIssue(
            name, line, col, "(file)", f"nested deeper than {MAX_DEPTH} levels", _FIX
        )
    sizes: dict[str, int] = {}  # anchor -> expanded node count
    stack: list[tuple[str | None, int]] = []  # open collections: (anchor, nodes so far)
    total = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            size = 0
            if isinstance(event, yaml.AliasEvent):
                size = sizes.get(str(event.anchor), 1)
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                stack.append((event.anchor, 1))
                if len(stack) > MAX_DEPTH:
                    return _issue(name, event, f"nested deeper than {MAX_DEPTH} levels")
                continue
            elif isinstance(event, yaml.CollectionEndEvent) and stack:
                anchor, size = stack.pop()
                if anchor:
                    sizes[anchor] = size
            else:
                continue
            total += size
            if stack:
                stack[-1] = (stack[-1][0], stack[-1][1] + size)
            if total > MAX_NODES or (stack and stack[-1][1] > MAX_NODES):
                return _issue(
                    name, event, f"expands to more than {MAX_NODES} nodes (aliases of aliases)"
                )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return ConfigIssue(name, line, col, "(file)", str(exc.problem or exc), _FIX)
    except yaml.YAMLError as exc:  # reader errors (control characters) carry a position too
        position = getattr(exc, "position", None)
        line, col = _position(data, len(text[:position].encode())) if position else (1, 1)
        return ConfigIssue(name, line, col, "(file)", str(exc).splitlines()[0], _FIX)
    return None


def _issue(name: str, event: yaml.Event, problem: str) -> ConfigIssue:
    mark = event.start_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return ConfigIssue(name, line, col, "(file)", problem, _FIX)
