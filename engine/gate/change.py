"""The change as the gate counts it, from git: never from what a producer reported.

The patcher, the provider and the record writer are untrusted producers: whatever they
say about a candidate, the gate re-reads the candidate from git between the base commit
and the candidate commit (:func:`change_from_git`) and counts files, lines, touched
symbols, protected paths and tests itself. The patcher imports its diff and counting from
here, so both sides count the same way.

A cycle's own records (:func:`engine.gate.paths.record_paths`) are the one thing allowed
to differ between the commit the gate evaluated and the commit that lands
(:func:`smuggled_paths`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from engine.gate.paths import is_protected, is_test_file, record_paths
from engine.model import ChangeFacts

if TYPE_CHECKING:
    from engine.vcs import Repository

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_NO_NEWLINE = "\\ No newline at end of file\n"
_EMPTY = cst.Module(body=[])

Definition = cst.FunctionDef | cst.ClassDef


def change_from_git(
    repo: Repository,
    base: str,
    head: str,
    *,
    exclude: Sequence[str] = (),
    protected_extra: Sequence[str] = (),
) -> ChangeFacts:
    """The ``change`` of commit ``head`` against ``base``, read from git. Paths in
    ``exclude`` (the cycle's own records) are left out; a rename counts both its old and
    its new path; ``protected_extra`` adds the directives' protected paths."""
    changed = repo.changed_files(base, head)
    touched = {f.path for f in changed} | {f.old_path for f in changed if f.old_path}
    paths = sorted(touched - set(exclude))
    old = {p: repo.show_file(base, p) for p in paths}
    new = {p: repo.show_file(head, p) or "" for p in paths}
    added, removed = count_lines(unified_diff(old, new))
    symbols = [f"{p}::{s}" for p in paths for s in touched_symbols(p, old[p], new[p])]
    return ChangeFacts(
        files=tuple(paths),
        lines_added=added,
        lines_removed=removed,
        symbols=tuple(symbols),
        protected=tuple(p for p in paths if is_protected(p, protected_extra)),
        tests_touched=tuple(p for p in paths if is_test_file(p)),
        empty=not paths,
    )


def smuggled_paths(
    repo: Repository, evaluated: str, landing: str, cycle_id: str
) -> tuple[str, ...]:
    """Paths in which ``landing`` differs from the ``evaluated`` candidate commit other than
    the cycle's own records; () when the commit about to land is what the gate judged."""
    allowed = set(record_paths(cycle_id))
    if evaluated == landing:
        return ()
    out: set[str] = set()
    for f in repo.changed_files(evaluated, landing):
        out |= {p for p in (f.path, f.old_path) if p and p not in allowed}
    return tuple(sorted(out))


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

    Compares each function's and class's own source (see :func:`symbol_sources`), so
    whitespace or comments between definitions do not count. A text that does not parse
    contributes no symbols; a path that is not Python has none.
    """
    if not path.endswith((".py", ".pyi")):
        return ()
    before, after = _sources(old_text), _sources(new_text)
    names = set(before) | set(after)
    return tuple(sorted(name for name in names if before.get(name) != after.get(name)))


def definitions(body: Sequence[cst.CSTNode], prefix: str = "") -> list[tuple[str, Definition]]:
    """Every ``def``/``class`` directly in ``body`` or in a class body under it, with its
    qualified name (classes nest names, functions are leaves), in source order."""
    out: list[tuple[str, Definition]] = []
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            qualname = f"{prefix}{stmt.name.value}"
            out.append((qualname, stmt))
            if isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
                out.extend(definitions(stmt.body.body, f"{qualname}."))
    return out


def symbol_sources(module: cst.Module) -> dict[str, list[str]]:
    """Each qualified name -> the source of each of its definitions.

    A function's source is the whole def (decorators included, leading blank lines
    and comments excluded). A class's own source leaves out its nested definitions,
    so that editing a method touches ``Class.method`` and not ``Class`` too.
    """
    out: dict[str, list[str]] = {}
    for qualname, node in definitions(module.body):
        own: cst.CSTNode = node.with_changes(leading_lines=())
        if isinstance(node, cst.ClassDef) and isinstance(node.body, cst.IndentedBlock):
            kept = [s for s in node.body.body if not isinstance(s, cst.FunctionDef | cst.ClassDef)]
            own = node.with_changes(leading_lines=(), body=node.body.with_changes(body=kept))
        out.setdefault(qualname, []).append(_EMPTY.code_for_node(own))
    return out


def _lines(text: str) -> list[str]:
    """Lines split at ``\n`` only, as git does (``str.splitlines`` also splits at
    form feeds and other separators)."""
    parts = text.split("\n")
    return [f"{part}\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


@functools.lru_cache(maxsize=8)
def parse_module(text: str) -> cst.Module:
    """``libcst.parse_module(text)``, kept for the last texts parsed (a tree is immutable):
    the patcher parses a file to edit it, its check of the edit and the gate's recount
    read the same texts again, and libcst parses a 3800-line module (click's core.py) in
    ~0.1 s. Raises ``ParserSyntaxError`` as libcst does (never kept)."""
    return cst.parse_module(text)


@functools.lru_cache(maxsize=32)
def _sources(text: str | None) -> Mapping[str, list[str]]:
    """:func:`symbol_sources` of ``text`` (nothing when it does not parse), kept for the
    last texts seen (see :func:`parse_module`)."""
    if not text:
        return {}
    try:
        return symbol_sources(parse_module(text))
    except cst.ParserSyntaxError:
        return {}
