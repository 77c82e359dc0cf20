"""Evaluation: measure a checkout. The only package that runs candidate code, and it does
so only through :class:`SandboxRunner`.

Public API: :class:`Evaluator` (``measure(checkout, files, commit=...) -> Metrics``),
:class:`Measurement`, :class:`BaselineCache`, :func:`baseline_key`, :class:`SandboxRunner`,
:class:`RunResult`, :func:`probe_sandbox`.
"""

from engine.gate.evaluation.cache import BaselineCache, baseline_key, tool_versions
from engine.gate.evaluation.evaluator import Evaluator, Measurement
from engine.gate.evaluation.process import RunResult
from engine.gate.evaluation.sandbox import SandboxRunner, probe_sandbox

__all__ = [
    "BaselineCache",
    "Evaluator",
    "Measurement",
    "RunResult",
    "SandboxRunner",
    "baseline_key",
    "probe_sandbox",
    "tool_versions",
]
