"""Rule expressions: CEL, compiled once, evaluated many times, never Python ``eval``.

We use the ``common-expression-language`` package (``import cel``, a Rust CEL interpreter)
rather than ``cel-python`` because:

- it compares int with double (``2 > 1.0`` is true); metrics mix both, and cel-python
  raises "no such overload" on such comparisons;
- it is much faster (compile once, ``Program.execute`` per candidate);
- its parse errors carry line and column, which config turns into ``file:line:col``.

Contract:

- :func:`compile_expr` parses an expression and checks that it only names the known
  roots (``baseline, candidate, delta, change, goal, cost, roi`` by default) and known CEL
  functions. It raises :class:`ExprSyntaxError` (a ``ValueError``) with a one-line message.
- :meth:`CompiledExpr.evaluate` runs it over a context dict (see ``policy.context``) and
  raises :class:`ExprError` with a readable message ("no field 'candidate.lnt' ...")
  instead of the interpreter's bare ``KeyError``/``TypeError``.

Arithmetic still does not mix int and double (``1 + 1.5`` is a type error in CEL), which is
why ``policy.context`` hands rules floats for every float-typed metric.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.gate.policy.quiet_cel import cel

ROOTS: tuple[str, ...] = ("baseline", "candidate", "delta", "change", "goal", "cost", "roi")

# Functions this CEL implementation provides (checked by tests/test_policy_expr.py). Operators
# (``_&&_``, ``@in``, ``!_``) and macros (has, all, exists, exists_one, map, filter) are
# reported differently by ``Program.references()`` and need no check.
KNOWN_FUNCTIONS: frozenset[str] = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "timestamp",
        "duration",
        "type",
        "dyn",
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)

# Type names are identifiers too: ``type(x) == int``.
TYPE_NAMES: frozenset[str] = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)

# Macros bind a loop variable: ``list.exists(x, x > 1)``. references() lists ``x`` as a
# variable, so it must not be mistaken for an unknown root.
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_STRING = re.compile(
    r"""[rR]?(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")""", re.S
)
_UNDEFINED = re.compile(r"Undefined variable or function: '([^']+)'")
_PARSE_ERROR = re.compile(r"<input>:(\d+):(\d+):\s*(?:Syntax error:\s*)?(.*)")


class ExprSyntaxError(ValueError):
    """An expression that does not compile; ``line``/``col`` are 1-based within the text."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        self.line = line
        self.col = col
        super().__init__(message)


class ExprError(Exception):
    """An expression failed while being evaluated (missing field, type mismatch, ...)."""


@dataclass(frozen=True)
class CompiledExpr:
    """A compiled expression and the dotted paths it reads (``candidate.tests.failed``)."""

    text: str
    program: Any  # cel.Program
    paths: tuple[str, ...]

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The expression's value over ``context``; raises :class:`ExprError` on failure."""
        try:
            return self.program.execute(dict(context))
        except KeyError as exc:
            key = exc.args[0] if exc.args else ""
            raise ExprError(_missing_message(str(key), self.paths, context)) from None
        except RuntimeError as exc:
            undefined = _UNDEFINED.search(str(exc))
            if undefined:  # a root the caller left out of the context
                known = ", ".join(sorted(str(k) for k in context))
                raise ExprError(
                    f"no field {undefined.group(1)!r} (the context has: {known})"
                ) from None
            raise ExprError(_first_sentence(str(exc))) from None
        except IndexError as exc:
            raise ExprError(f"list {_first_sentence(str(exc))}") from None
        except BaseException as exc:
            # The interpreter is Rust: a panic surfaces as pyo3's PanicException, which is a
            # BaseException. It must fail the rule, not the daemon; Ctrl-C still propagates.
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise
            raise ExprError(_first_sentence(str(exc))) from None


def compile_expr(text: str, *, roots: Iterable[str] = ROOTS) -> CompiledExpr:
    """Compile ``text``; refuse syntax errors, unknown root names and unknown functions."""
    if not isinstance(text, str) or not text.strip():
        raise ExprSyntaxError("empty expression")
    try:
        program = cel.compile(text)
    except (ValueError, RuntimeError) as exc:
        raise _syntax_error(str(exc)) from None
    allowed = tuple(roots)
    refs = program.references()
    bound = set(_MACRO_VAR.findall(_strip_strings(text)))
    for name in refs.get("variables", []):
        if name not in allowed and name not in bound and name not in TYPE_NAMES:
            raise ExprSyntaxError(f"unknown name {name!r}{_did_you_mean(name, allowed)}")
    for name in refs.get("functions", []):
        if name[:1].isalpha() and name not in KNOWN_FUNCTIONS:
            raise ExprSyntaxError(
                f"unknown function {name!r}{_did_you_mean(name, sorted(KNOWN_FUNCTIONS))}"
            )
    return CompiledExpr(text=text, program=program, paths=referenced_paths(text, allowed))


def referenced_paths(text: str, roots: Iterable[str] = ROOTS) -> tuple[str, ...]:
    """Dotted paths starting at a root, in order of first use; method names are dropped.

    ``size(change.protected) == 0 && goal.allow.exists(a, a == "x")`` gives
    ``("change.protected", "goal.allow")``. String literals are ignored.
    """
    code = _strip_strings(text)
    names = "|".join(re.escape(r) for r in roots)
    pattern = re.compile(rf"(?<![\w.])(?:{names})(?:\s*\.\s*[A-Za-z_]\w*)*")
    found: list[str] = []
    for match in pattern.finditer(code):
        parts = [p.strip() for p in match.group(0).split(".")]
        if len(parts) > 1 and code[match.end() :].lstrip().startswith("("):
            parts.pop()  # ``goal.allow.size()``: the last name is a method, not a field
        path = ".".join(parts)
        if path not in found:
            found.append(path)
    return tuple(found)


def resolve(path: str, context: Mapping[str, Any]) -> tuple[bool, Any]:
    """``(True, value)`` for a dotted path present in ``context``, else ``(False, None)``."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


# --------------------------------------------------------------------------- messages


def _syntax_error(raw: str) -> ExprSyntaxError:
    match = _PARSE_ERROR.search(raw)
    if not match:
        return ExprSyntaxError(f"invalid expression: {_first_sentence(raw)}")
    line, col, reason = int(match.group(1)), int(match.group(2)), match.group(3).strip()
    if reason.startswith("mismatched input '<EOF>'"):
        reason = "the expression ends too early"
    else:
        reason = re.sub(r"\s*expecting \{.*", "", reason)  # the parser's token sets are noise
    return ExprSyntaxError(f"syntax error at {line}:{col}: {reason}", line, col)


def _missing_message(key: str, paths: tuple[str, ...], context: Mapping[str, Any]) -> str:
    for path in paths:
        parts = path.split(".")
        value: Any = context
        for depth, part in enumerate(parts):
            if not isinstance(value, Mapping):
                break
            if part not in value:
                if part != key:
                    break
                where = ".".join(parts[:depth]) or "the context"
                bad = ".".join(parts[: depth + 1])
                known = sorted(str(k) for k in value)
                hint = _did_you_mean(part, known, prefix=".".join(parts[:depth]))
                has = f" ({where} has: {', '.join(known)})" if known else f" ({where} is empty)"
                return f"no field {bad!r}{has}{hint}"
            value = value[part]
    return f"no key {key!r} in a map the expression reads"


def _did_you_mean(word: str, options: Iterable[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    if not close:
        return ""
    full = f"{prefix}.{close[0]}" if prefix else close[0]
    return f"; did you mean {full!r}?"


def _first_sentence(text: str) -> str:
    head = text.strip().splitlines()[0] if text.strip() else "evaluation failed"
    return head.split(". ")[0].rstrip(".:")


def _strip_strings(text: str) -> str:
    return _STRING.sub(lambda m: '""', text)
