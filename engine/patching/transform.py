"""The pure core of the patcher: one :class:`~engine.model.Edit` applied to one text.

:func:`apply_edit` never raises. It returns :class:`EditApplied` with the new text or
:class:`EditFailed` with a ``kind`` and a sentence meant for a human or a model:

==========  ==================================================================
kind        meaning
==========  ==================================================================
invalid     the edit is malformed (a field its op needs is missing or empty,
            or a symbol op names a file that is not Python)
missing     the op needs an existing file and there is none
exists      ``create`` of a file that already exists
symbol      the symbol (``symbol`` / ``after``) is not defined in the file
search      ``search`` (or a ``patch`` hunk) does not occur exactly once
parse       the file, the code, or the result is not valid Python
binary      the result is not UTF-8 text or contains NUL bytes
internal    a bug in the patcher (the message carries the exception)
==========  ==================================================================

Symbol ops (``replace``, ``insert``, ``delete``, ``add_import``) work on the LibCST
tree, so every byte outside the edited statement stays as it was. New code is given
at any indentation; it is dedented and re-indented to where it lands (a method given
at column 0 becomes a method of its class). ``replace`` swaps the whole statement,
decorators included, and keeps the comments and blank lines above it. A name
defined twice in one namespace means its last definition (Python semantics).

Every Python result (``.py``/``.pyi``) must parse with LibCST *and* ``compile()``:
LibCST accepts some code Python rejects (``return`` at module level). Other files
(``create``, ``rewrite``, ``search_replace``, ``patch`` only) must be UTF-8 text without NUL.
``create`` and ``rewrite`` end a non-empty text with a newline if it lacks one.
"""

from __future__ import annotations

import textwrap
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from engine.gate.change import parse_module
from engine.model import Edit
from engine.patching import layout
from engine.patching.imports import add_imports
from engine.patching.symbols import describe_missing, find_symbol, is_definition, statements
from engine.patching.unidiff import PatchProblem, apply_patch

PYTHON_SUFFIXES: tuple[str, ...] = (".py", ".pyi")


@dataclass(frozen=True)
class EditApplied:
    """The edit worked; ``source`` is the whole new text (maybe equal to the old)."""

    source: str
    note: str = ""  # e.g. "already imported"


@dataclass(frozen=True)
class EditFailed:
    """The edit cannot be applied; ``reason`` says why and what would work."""

    reason: str
    kind: str = "parse"


EditResult = EditApplied | EditFailed


def is_python(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIXES)


def apply_edit(source: str | None, edit: Edit) -> EditResult:
    """Apply ``edit`` to ``source`` (None: the file does not exist). Never raises."""
    try:
        result = _OPS[edit.op](source, edit) if edit.op in _OPS else None
        if result is None:
            return EditFailed(f"unknown op {edit.op!r}; use one of {', '.join(_OPS)}", "invalid")
        if isinstance(result, EditFailed):
            return result
        problem = check_text(edit.file, result.source)
        return problem or result
    except Exception as exc:  # the core reports, it does not raise (codemod's contract)
        last = traceback.format_exception_only(exc)[-1].strip()
        return EditFailed(f"internal error applying {edit.op} to {edit.file}: {last}", "internal")


def check_text(file: str, text: str) -> EditFailed | None:
    """Why ``text`` is not acceptable as the content of ``file``, or None."""
    if "\x00" in text:
        return EditFailed(f"{file}: the result contains NUL bytes", "binary")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return EditFailed(f"{file}: the result is not valid UTF-8 text ({exc.reason})", "binary")
    if not is_python(file):
        return None
    parsed = _parse(text, file)
    if isinstance(parsed, EditFailed):
        return parsed
    return _compile_error(text, file)


# --------------------------------------------------------------------------- symbol ops


def _replace(source: str | None, edit: Edit) -> EditResult:
    module, snippet = _prepare(source, edit, needs_symbol=True)
    if isinstance(module, EditFailed):
        return module
    assert edit.symbol is not None and isinstance(snippet, cst.Module)
    found = find_symbol(module, edit.symbol)
    if found is None:
        return EditFailed(describe_missing(module, edit.symbol, edit.file), "symbol")
    if len(snippet.body) != 1 or not is_definition(snippet.body[0]):
        return EditFailed(
            "replace code must be exactly one def or class statement (decorators allowed)",
            "invalid",
        )
    new = snippet.body[0]
    old_lines = list(found.node.leading_lines)
    extra = layout.strip_blanks([*snippet.header, *new.leading_lines])
    repeated = len(_comments(extra))
    if repeated and _comments(old_lines)[-repeated:] == _comments(extra):
        extra = []  # the model repeated the comments above the def: keep them once
    body = statements(found.container)
    body[found.index] = layout.with_leading(new, old_lines + extra)
    body, footer = layout.spill(body, found.index + 1, snippet.footer, found.container.footer)
    return _done(layout.rebuild(module, found.container, body, footer))


def _insert(source: str | None, edit: Edit) -> EditResult:
    module, snippet = _prepare(source, edit, needs_symbol=False)
    if isinstance(module, EditFailed):
        return module
    assert isinstance(snippet, cst.Module)
    if not snippet.body:
        return EditFailed("insert code holds no statement", "invalid")
    if edit.after:
        found = find_symbol(module, edit.after)
        if found is None:
            return EditFailed(describe_missing(module, edit.after, edit.file), "symbol")
        container: layout.Container = found.container
        pos, depth = found.index + 1, found.depth
    else:
        container, pos, depth = module, len(module.body), 0
    body = statements(container)
    new = list(snippet.body)
    prev = body[pos - 1] if pos else None
    lead = layout.strip_blanks([*snippet.header, *new[0].leading_lines], trailing=False)
    new[0] = layout.with_leading(new[0], layout.blank(layout.spacing(prev, new[0], depth)) + lead)
    if pos < len(body):
        body[pos] = layout.ensure_spacing(body[pos], layout.spacing(new[-1], body[pos], depth))
    body[pos:pos] = new
    body, footer = layout.spill(body, pos + len(new), snippet.footer, container.footer)
    return _done(layout.rebuild(module, container, body, footer))


def _delete(source: str | None, edit: Edit) -> EditResult:
    module, _ = _prepare(source, edit, needs_symbol=True)
    if isinstance(module, EditFailed):
        return module
    assert edit.symbol is not None
    found = find_symbol(module, edit.symbol)
    if found is None:
        return EditFailed(describe_missing(module, edit.symbol, edit.file), "symbol")
    body = statements(found.container)
    lines = list(found.node.leading_lines)
    # Comments directly above the def go with it; text separated by a blank line stays.
    cut = len(lines)
    while cut and lines[cut - 1].comment is not None:
        cut -= 1
    del body[found.index]
    if not body and isinstance(found.container, cst.IndentedBlock):
        body = [cst.SimpleStatementLine(body=[cst.Pass()])]  # a block cannot be empty
    elif found.index == 0 and body:
        body[0] = layout.with_leading(
            body[0], layout.strip_blanks(body[0].leading_lines, trailing=False)
        )
    body, footer = layout.spill(body, found.index, lines[:cut], found.container.footer)
    return _done(layout.rebuild(module, found.container, body, footer))


def _add_import(source: str | None, edit: Edit) -> EditResult:
    module, snippet = _prepare(source, edit, needs_symbol=False)
    if isinstance(module, EditFailed):
        return module
    assert isinstance(snippet, cst.Module)
    result = add_imports(module, snippet)
    if isinstance(result, str):
        return EditFailed(result, "invalid")
    if result is module:
        return EditApplied(module.code, note="already imported")
    return _done(result)


# --------------------------------------------------------------------------- text ops


def _create(source: str | None, edit: Edit) -> EditResult:
    if edit.code is None:
        return EditFailed("create needs code (the new file's content)", "invalid")
    if source is not None:
        return EditFailed(f"{edit.file} already exists; use rewrite or a symbol op", "exists")
    return EditApplied(_final_newline(edit.code))


def _rewrite(source: str | None, edit: Edit) -> EditResult:
    if edit.code is None:
        return EditFailed("rewrite needs code (the whole new content)", "invalid")
    if source is None:
        return EditFailed(f"{edit.file} does not exist; use create", "missing")
    return EditApplied(_final_newline(edit.code))


def _search_replace(source: str | None, edit: Edit) -> EditResult:
    if not edit.search or edit.replace is None:
        return EditFailed("search_replace needs a non-empty search and a replace", "invalid")
    if source is None:
        return EditFailed(f"{edit.file} does not exist; use create", "missing")
    count = _occurrences(source, edit.search)
    if count != 1:
        return EditFailed(
            f"search text occurs {count} times in {edit.file}; it must occur exactly once "
            "(quote more surrounding lines to make it unique)",
            "search",
        )
    return EditApplied(source.replace(edit.search, edit.replace, 1))


def _patch(source: str | None, edit: Edit) -> EditResult:
    if not edit.code:
        return EditFailed("patch needs code: a unified diff of the file", "invalid")
    if source is None:
        return EditFailed(f"{edit.file} does not exist; use create", "missing")
    result = apply_patch(source, edit.code)
    if isinstance(result, PatchProblem):
        return EditFailed(f"{edit.file}: {result.reason}", result.kind)
    return EditApplied(result)


# --------------------------------------------------------------------------- helpers


def _prepare(
    source: str | None, edit: Edit, *, needs_symbol: bool
) -> tuple[cst.Module | EditFailed, cst.Module | None]:
    """Parse the file and the edit's code (every symbol op but ``delete`` has code)."""
    if not is_python(edit.file):
        return EditFailed(f"{edit.op} needs a Python file, not {edit.file}", "invalid"), None
    if needs_symbol and not (edit.symbol or "").strip():
        return EditFailed(f"{edit.op} needs a symbol (e.g. 'Class.method')", "invalid"), None
    snippet: cst.Module | None = None
    if edit.op != "delete":
        code = edit.code
        if code is None or not code.strip():
            return EditFailed(f"{edit.op} needs code", "invalid"), None
        parsed = _parse_snippet(code, edit.op)
        if isinstance(parsed, EditFailed):
            return parsed, None
        snippet = parsed
    if source is None:
        return EditFailed(f"{edit.file} does not exist; use create", "missing"), None
    module = _parse(source, edit.file)
    if isinstance(module, EditFailed):
        return EditFailed(f"{edit.file} does not parse as it is: {module.reason}", "parse"), None
    if not source:
        module = module.with_changes(has_trailing_newline=True)  # "" parses as "no final newline"
    return module, snippet


def _parse_snippet(code: str, op: str) -> cst.Module | EditFailed:
    parsed = _parse(textwrap.dedent(code), f"the {op} code")
    if isinstance(parsed, EditFailed):
        # textwrap.dedent gives up when a multi-line string has lines less indented
        # than the code; then strip the first line's indentation where it is present.
        first = next((line for line in code.splitlines() if line.strip()), "")
        indent = first[: len(first) - len(first.lstrip())]
        if indent:
            lines = code.splitlines(keepends=True)
            stripped = "".join(ln.removeprefix(indent) for ln in lines)
            retry = _parse(stripped, f"the {op} code")
            return retry if isinstance(retry, cst.Module) else parsed
    return parsed


def _parse(text: str, label: str) -> cst.Module | EditFailed:
    try:
        return parse_module(text)
    except cst.ParserSyntaxError as exc:
        # Python's own message and line are more precise and familiar; use them if it agrees.
        return _compile_error(text, label) or EditFailed(
            f"{label}:{exc.raw_line}: syntax error: {exc.message}", "parse"
        )


def _compile_error(text: str, label: str) -> EditFailed | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning is not our business here
            compile(text, label, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{label}:{exc.lineno}" if exc.lineno else label
        line = f": {exc.text.strip()!r}" if exc.text and exc.text.strip() else ""
        return EditFailed(f"{where}: syntax error: {exc.msg}{line}", "parse")
    except (ValueError, RecursionError, MemoryError) as exc:
        return EditFailed(f"{label}: does not compile: {exc}", "parse")
    return None


def _done(module: cst.Module) -> EditApplied:
    return EditApplied(module.code)


def _comments(lines: layout.Lines) -> list[str]:
    return [line.comment.value for line in lines if line.comment is not None]


def _occurrences(text: str, needle: str) -> int:
    """Occurrences of ``needle`` in ``text``, overlapping ones included."""
    count, start = 0, text.find(needle)
    while start != -1:
        count += 1
        start = text.find(needle, start + 1)
    return count


def _final_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


_OPS: dict[str, Callable[[str | None, Edit], EditResult]] = {
    "replace": _replace,
    "insert": _insert,
    "delete": _delete,
    "add_import": _add_import,
    "create": _create,
    "search_replace": _search_replace,
    "patch": _patch,
    "rewrite": _rewrite,
}
