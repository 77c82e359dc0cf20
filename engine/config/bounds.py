"""Limits on the shape of a YAML document, checked on the parser's events before composing.

A billion-laughs file is a few hundred bytes whose aliases expand to billions of nodes;
5,000 nested ``[`` overflow a recursive composer. :func:`prescan` reads the event stream
once (libyaml's parser when PyYAML has it: no recursion, ~0.4 M events/s) and refuses,
before any node is built:

- nesting deeper than :data:`MAX_DEPTH` mappings/sequences, counting what aliases expand to;
- more than :data:`MAX_ALIASES` alias references (``*name``);
- more than :data:`MAX_NODES` nodes after expanding every alias (exact: each anchor's
  expanded size is known when its alias is met);
- an alias used inside its own anchor (a recursive structure, infinite once expanded).

It raises :class:`LimitExceeded` (with the mark of the offending event) or the parser's
own ``yaml.YAMLError``; it returns None when the document is within every limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.config.quiet_yaml import yaml

MAX_DEPTH = 50  # nested mappings/sequences
MAX_ALIASES = 100  # alias references per file
MAX_NODES = 20_000  # nodes per file once every alias is expanded

# libyaml when PyYAML was built with it (the wheels are): same safe semantics, ~50x faster.
FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LimitExceeded(Exception):
    """The document is over a limit; ``mark`` (a yaml Mark or None) says where."""

    def __init__(self, mark: Any, problem: str, fix: str) -> None:
        self.mark = mark
        self.problem = problem
        self.fix = fix
        super().__init__(problem)


@dataclass
class _Frame:
    anchor: str | None
    nodes: int = 1  # expanded nodes in this subtree, itself included
    height: int = 1  # levels of collections in this subtree once expanded, itself included


def prescan(text: str, loader: Any = FAST_LOADER) -> None:
    """Check ``text`` against the limits (see module doc)."""
    parser = loader(text)
    try:
        _scan(parser)
    finally:
        parser.dispose()


def _scan(parser: Any) -> None:
    stack: list[_Frame] = []
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, collection levels)
    total = 0
    aliases = 0
    while parser.check_event():
        event = parser.get_event()
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise LimitExceeded(
                    event.start_mark,
                    f"too many aliases: more than {MAX_ALIASES}",
                    "write the values out, or use fewer anchors",
                )
            if any(frame.anchor == event.anchor for frame in stack):
                raise LimitExceeded(
                    event.start_mark,
                    f"a recursive alias: '*{event.anchor}' is used inside its own anchor",
                    "refer to the anchor only after its value ends",
                )
            nodes, height = sizes.get(event.anchor or "", (1, 0))  # undefined: the composer says so
            total = _add(stack, nodes, height, total, event.start_mark)
        elif isinstance(event, yaml.ScalarEvent):
            total = _add(stack, 1, 0, total, event.start_mark)
            if event.anchor:
                sizes[event.anchor] = (1, 0)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) + 1 > MAX_DEPTH:
                raise _too_deep(event.start_mark)
            total = _count(total + 1, event.start_mark)
            stack.append(_Frame(event.anchor))
        elif isinstance(event, yaml.CollectionEndEvent):
            frame = stack.pop()
            if frame.anchor:
                sizes[frame.anchor] = (frame.nodes, frame.height)
            if stack:
                stack[-1].nodes += frame.nodes
                stack[-1].height = max(stack[-1].height, frame.height + 1)


def _add(stack: list[_Frame], nodes: int, height: int, total: int, mark: Any) -> int:
    """Account for a leaf: a scalar (height 0), or an alias expanding to ``nodes`` values
    and ``height`` levels of collections."""
    if len(stack) + height > MAX_DEPTH:
        raise _too_deep(mark)
    if stack:
        stack[-1].nodes += nodes
        stack[-1].height = max(stack[-1].height, height + 1)
    return _count(total + nodes, mark)


def _count(total: int, mark: Any) -> int:
    if total > MAX_NODES:
        raise LimitExceeded(
            mark,
            f"too many values: more than {MAX_NODES} once aliases are expanded",
            "a configuration file this large is not plausible: shorten it",
        )
    return total


def _too_deep(mark: Any) -> LimitExceeded:
    return LimitExceeded(
        mark, f"too deep: nested more than {MAX_DEPTH} levels", "flatten the structure"
    )
