"""radon's maintainability index (``mi_visit(code, multi=True)``), in linear time.

radon counts a file's raw metrics (:func:`radon.raw.analyze`) by tokenizing, from each
line, one more line at a time until the lines so far tokenize cleanly: a statement that
spans N lines is tokenized N times, O(N²). A data table written as one literal over
thousands of lines (wcwidth 0.9.5's ``table_linebreak.py``, 150 KB, 2,308 lines) took
radon 62 s, the static probes stalled the cycle for minutes. Here the number of lines is
found first, from one streaming tokenization (the first line where every bracket is
closed), then checked with radon's own test (those lines tokenize without an error
token); when the check fails, radon's line-by-line search goes on from there. The counts,
and the index, are radon's (``tests/test_maintainability.py`` compares them on ratchet's
sources and on long statements, strings, continuations and comments).
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable
from typing import Any

from radon.metrics import h_visit_ast, mi_compute
from radon.raw import Module, _logical, is_single_token
from radon.visitors import ComplexityVisitor

_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")


def maintainability_index(code: str) -> float:
    """radon's ``mi_visit(code, multi=True)``."""
    tree = ast.parse(code)
    raw = analyze(code)
    comments = (raw.comments + raw.multi) / float(raw.sloc) * 100 if raw.sloc else 0
    volume = h_visit_ast(tree).total.volume
    return float(mi_compute(volume, ComplexityVisitor.from_ast(tree).total_complexity,
                            raw.lloc, comments))  # fmt: skip


def analyze(source: str) -> Module:
    """radon's :func:`radon.raw.analyze` (its counting, line groups found faster)."""
    lloc = comments = single_comments = multi = blank = sloc = 0
    lines = [line.strip() for line in source.splitlines()]
    at = 0
    while at < len(lines):
        tokens, count = _group(lines, at)
        used = lines[at : at + count]
        at += count
        comments += sum(1 for t in tokens if t[0] == tokenize.COMMENT)
        if is_single_token(tokenize.COMMENT, tokens):
            single_comments += 1
        elif is_single_token(tokenize.STRING, tokens):
            if tokens[0][2][0] == tokens[0][3][0]:
                single_comments += 1
            else:
                multi += sum(1 for line in used if line)
                blank += sum(1 for line in used if not line)
        else:
            sloc += sum(1 for line in used if line)
            blank += sum(1 for line in used if not line)
        lloc += _logical(tokens)
    loc = sloc + blank + multi + single_comments
    return Module(loc, lloc, sloc, comments, multi, blank, single_comments)


def _group(lines: list[str], start: int) -> tuple[list[Any], int]:
    """The tokens of the fewest lines from ``start`` that tokenize cleanly (radon's
    ``_get_all_tokens``), and how many lines that is. Raises SyntaxError as radon does
    when the source ends first."""
    count = _closed_at(lines, start) or 1
    while True:
        if start + count > len(lines):
            raise SyntaxError(f"SyntaxError at line: {start + 1}")
        try:
            tokens = list(tokenize.generate_tokens(_reader(lines[start : start + count])))
        except tokenize.TokenError:
            pass
        else:
            if not any(t[0] == tokenize.ERRORTOKEN for t in tokens):
                return tokens, count
        count += 1


def _closed_at(lines: list[str], start: int) -> int:
    """How many lines from ``start`` one streaming tokenization reads until a line ends
    with every bracket closed (a NEWLINE or NL token outside brackets); 0 when it cannot
    tell (an error token, a tokenizer error, the end of the source)."""
    position = start

    def readline() -> str:
        nonlocal position
        if position >= len(lines):
            return ""
        position += 1
        return lines[position - 1] + "\n"

    depth = 0
    try:
        for token in tokenize.generate_tokens(readline):
            kind, text = token[0], token[1]
            if kind == tokenize.OP and text in _OPEN:
                depth += 1
            elif kind == tokenize.OP and text in _CLOSE:
                depth -= 1
            elif kind in (tokenize.NL, tokenize.NEWLINE) and depth <= 0:
                return int(token[2][0])
            elif kind == tokenize.ERRORTOKEN:
                return 0
    except (tokenize.TokenError, SyntaxError):
        return 0
    return 0


def _reader(lines: list[str]) -> Callable[[], str]:
    """A readline over ``lines`` joined by newlines, the last without one (radon's
    buffer)."""
    return io.StringIO("\n".join(lines)).readline
