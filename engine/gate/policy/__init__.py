"""Policy: rules/*.yaml expressions (CEL) over metrics -> a Decision, and a candidate's ROI.

Pure: no I/O. ``expr`` compiles and runs expressions, ``context`` builds the map they see,
``engine`` decides, ``roi`` scores.

CEL runs through the ``common-expression-language`` package (``import cel``), not
cel-python: it compares int with double (metrics mix both; cel-python raises "no such
overload" on ``2 > 1.0``), it is much faster, and its parse errors carry line/column. It is
imported without its interactive shell (:mod:`~engine.gate.policy.quiet_cel`).
"""

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
