"""Describe a change: a git-style unified diff, its size, and the symbols it touches."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

import libcst as cst

from engine.patching.symbols import symbol_sources

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(old: Mapping[str, str | None], new: Mapping[str, str]) -> str:
    """A ``git diff``-style patch turning ``old`` into ``new``, files in path order.

    ``old[path]`` is None (or absent) for a file that ``new`` creates. Files whose text
    did not change are left out. Lines without a final newline carry git's
    ``\\ No newline at end of file`` marker, so the patch applies with ``git apply``.
    """
    out: list[str] = []
    for path in sorted(new):
        before, after = old.get(path), new[path]
        if before == after:
            continue
        out.append(f"diff --git a/{path} b/{path}\n")
        if before is None:
            out.append("new file mode 100644\n")
        lines = difflib.unified_diff(
            _lines(before or ""),
            _lines(after),
            fromfile="/dev/null" if before is None else f"a/{path}",
            tofile=f"b/{path}",
            lineterm="\n",
        )
        for line in lines:
            out.append(line if line.endswith("\n") else f"{line}\n{_NO_NEWLINE}")
    return "".join(out)


def count_lines(diff: str) -> tuple[int, int]:
    """(added, removed) lines of a unified diff, read hunk by hunk (headers never count)."""
    added = removed = 0
    old_left = new_left = 0
    for line in diff.split("\n"):
        if old_left <= 0 and new_left <= 0:
            match = _HUNK.match(line)
            if match:
                old_left = int(match.group(1) or 1)
                new_left = int(match.group(2) or 1)
            continue
        tag = line[:1]
        if tag == "+":
            added += 1
            new_left -= 1
        elif tag == "-":
            removed += 1
            old_left -= 1
        elif tag == " " or line == "":
            old_left -= 1
            new_left -= 1
    return added, removed


def touched_symbols(path: str, old_text: str | None, new_text: str | None) -> tuple[str, ...]:
    """Qualified names whose definition changed, appeared or disappeared, sorted.

    Compares each function's and class's own source (see
    :func:`engine.patching.symbols.symbol_sources`), so whitespace or comments
    between definitions do not count. A text that does not parse contributes no
    symbols; a path that is not Python has none.
    """
    if not path.endswith((".py", ".pyi")):
        return ()
    before, after = _sources(old_text), _sources(new_text)
    names = set(before) | set(after)
    return tuple(sorted(name for name in names if before.get(name) != after.get(name)))


def _lines(text: str) -> list[str]:
    """Lines split at ``\n`` only, as git does (``str.splitlines`` also splits at
    form feeds and other separators)."""
    parts = text.split("\n")
    return [f"{part}\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _sources(text: str | None) -> dict[str, list[str]]:
    if not text:
        return {}
    try:
        return symbol_sources(cst.parse_module(text))
    except cst.ParserSyntaxError:
        return {}
