"""The improvement cycle: goal -> proposal -> candidate -> evaluation -> decision ->
merge/reset -> record. See :mod:`engine.cycle.orchestrator`."""

from engine.cycle.orchestrator import Cycle, CycleRequest, Measurer

__all__ = ["Cycle", "CycleRequest", "Measurer"]
