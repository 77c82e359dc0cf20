"""Load-time type check of an expression against the metric schema.

CEL is strict at run time (``candidate.tests.failed > "0"`` is "no such overload", a
``require`` that yields a number cannot pass or fail) but this interpreter exposes no type
checker and no AST. So we evaluate the compiled program over *typed sample contexts*:
contexts built by :func:`~engine.gate.policy.context.build_context` from model values whose
every field holds a value of its declared type (int, double, bool, string, one-item lists),
in a few variants (numbers 0/1/2, booleans false/true, baseline != candidate) so that both
sides of ``&&``, ``||`` and ``?:`` are reached (:mod:`~engine.gate.policy.samples` builds
them, and stores them so that a configuration load does not define the metric types). The
interpreter is the one rules run on, so what it refuses here it would refuse at run time.

:func:`type_problems` returns messages (empty: none found):

- a type error in any variant ("no such overload", ``double - int``, ...);
- a result of the wrong kind: ``bool`` for ``require``/``when``/``done_when``, a number for
  ``metric``;
- ``==``/``!=`` between a field and a literal (or two fields) of different kinds, such as
  ``candidate.tests.failed == "0"``: CEL makes that silently false, never an error.

Limits (documented, deliberate): a missing key of a free-keyed map (``coverage.files``,
``lint.by_code``, ``goal.options``, ``cost``), an index out of range and a division by zero
depend on run-time data and are not reported; a branch that no variant reaches is not
checked.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from engine.gate.policy.expr import _STRING, ROOTS, CompiledExpr, resolve
from engine.gate.policy.quiet_cel import cel
from engine.gate.policy.samples import typed_samples

Kind = Literal["bool", "number"]

_ROOT_PATH = "|".join(ROOTS)
_PATH = rf"(?<![\w.])(?:{_ROOT_PATH})(?:\.[A-Za-z_]\w*)+(?![\w.(\[])"
_OPERAND = rf'(?:{_PATH}|"\d+"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?u?)'
_EQUALITY = re.compile(rf"(?P<left>{_OPERAND})\s*(?P<op>==|!=)\s*(?P<right>{_OPERAND})")
_TYPE_ERROR = ("no such overload", "unsupported operation", "not a valid regex")


def type_problems(expr: CompiledExpr, want: Kind) -> list[str]:
    """What is wrong with the types in ``expr`` whose result must be of kind ``want``."""
    problems: list[str] = []
    for context in _contexts():
        outcome = _run(expr, context)
        if isinstance(outcome, _Failure):
            if outcome.is_type_error and outcome.message not in problems:
                problems.append(outcome.message)
            continue
        got = _kind(outcome)
        if got != want:
            problem = f"must give {_NAMES[want]}, but gives {_NAMES.get(got, got)}"
            if problem not in problems:
                problems.append(problem)
    problems.extend(p for p in _mixed_equality(expr) if p not in problems)
    return problems


# --------------------------------------------------------------------------- evaluation

_NAMES = {"bool": "true or false", "number": "a number", "string": "a string"}


class _Failure:
    def __init__(self, message: str, is_type_error: bool) -> None:
        self.message = message
        self.is_type_error = is_type_error


def _run(expr: CompiledExpr, context: Any) -> Any:
    try:
        return expr.program.execute(context)
    except TypeError as exc:
        return _Failure(f"type error: {_sentence(str(exc))}", True)
    except RuntimeError as exc:
        text = str(exc)
        return _Failure(f"error: {_sentence(text)}", any(t in text.lower() for t in _TYPE_ERROR))
    except BaseException as exc:  # KeyError, IndexError, ZeroDivisionError, a Rust panic
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        return _Failure(_sentence(str(exc)), False)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return "null" if value is None else type(value).__name__


def _sentence(text: str) -> str:
    head = text.strip().splitlines()[0] if text.strip() else "evaluation failed"
    head = head.split(". CEL does not coerce")[0]
    return head.split(". ")[0].rstrip(".:")


# --------------------------------------------------------------------------- samples


@functools.cache
def _contexts() -> tuple[Any, ...]:
    """The samples as ``cel.Context`` objects: converted to CEL values once, not per call."""
    out = []
    for sample in typed_samples():
        context = cel.Context()
        for name, value in sample.items():
            context.add_variable(name, value)
        out.append(context)
    return tuple(out)


# --------------------------------------------------------------------------- equality


def _mixed_equality(expr: CompiledExpr) -> list[str]:
    # String literals become numbered placeholders ("0", "1", ...) so that an operator
    # inside a literal is never matched and the literal can be shown as written.
    literals: list[str] = []

    def hide(match: re.Match[str]) -> str:
        literals.append(match.group(0))
        return f'"{len(literals) - 1}"'

    def show(text: str) -> str:
        return re.sub(r'"(\d+)"', lambda m: literals[int(m.group(1))], text)

    problems = []
    shape = typed_samples()[1]
    for match in _EQUALITY.finditer(_STRING.sub(hide, expr.text)):
        left, right = (_operand_kind(match.group(g), shape) for g in ("left", "right"))
        if left and right and left[0] != right[0]:
            op = match.group("op")
            problems.append(
                f"{op} compares {show(left[1])} with {show(right[1])}: "
                f"{'always false' if op == '==' else 'always true'}"
            )
    return problems


def _operand_kind(text: str, shape: dict[str, Any]) -> tuple[str, str] | None:
    if text.startswith('"'):
        return "string", f"a string ({text})"
    if text[0].isdigit() or text[0] == "-":
        return "number", f"a number ({text})"
    found, value = resolve(text, shape)
    if not found:
        return None
    kind = _kind(value)
    if kind in ("a list", "a map", "null"):
        return None
    return kind, f"{_NAMES.get(kind, kind)} ({text})"
