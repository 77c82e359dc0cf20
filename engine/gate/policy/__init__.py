"""Policy: rules/*.yaml expressions (CEL) over metrics -> a Decision, and a candidate's ROI.

Pure: no I/O. ``expr`` compiles and runs expressions, ``context`` builds the map they see,
``engine`` decides, ``roi`` scores.

CEL runs through the ``common-expression-language`` package (``import cel``), not
cel-python: it compares int with double (metrics mix both; cel-python raises "no such
overload" on ``2 > 1.0``), it is much faster, and its parse errors carry line/column. It is
imported without its interactive shell (:mod:`~engine.gate.policy.quiet_cel`).

The package imports a module on first use of one of its names, so a caller of ``expr``
alone (the config's checks, ``ratchet status``) does not define the decision types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model.lazy import lazy_getattr

if TYPE_CHECKING:
    from engine.gate.policy.context import build_context, numeric_delta, tip_context, unknown_paths
    from engine.gate.policy.engine import decide, evaluate_rule, goal_met, goal_metric
    from engine.gate.policy.expr import (
        ROOTS,
        CompiledExpr,
        ExprError,
        ExprSyntaxError,
        compile_expr,
        referenced_paths,
    )
    from engine.gate.policy.roi import Roi, compute_roi

__all__ = [
    "ROOTS",
    "CompiledExpr",
    "ExprError",
    "ExprSyntaxError",
    "Roi",
    "build_context",
    "compile_expr",
    "compute_roi",
    "decide",
    "evaluate_rule",
    "goal_met",
    "goal_metric",
    "numeric_delta",
    "referenced_paths",
    "tip_context",
    "unknown_paths",
]

_HOME: dict[str, str] = {
    **dict.fromkeys(("build_context", "numeric_delta", "tip_context", "unknown_paths"), "context"),
    **dict.fromkeys(("decide", "evaluate_rule", "goal_met", "goal_metric"), "engine"),
    **dict.fromkeys(
        (
            "ROOTS",
            "CompiledExpr",
            "ExprError",
            "ExprSyntaxError",
            "compile_expr",
            "referenced_paths",
        ),
        "expr",
    ),
    **dict.fromkeys(("Roi", "compute_roi"), "roi"),
}

if not TYPE_CHECKING:  # mypy sees the imports above; a module __getattr__ would hide typos
    __getattr__ = lazy_getattr(__name__, _HOME, globals())
