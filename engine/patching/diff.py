"""Describe a change: the patcher's view of the gate's own counting.

The diff, its line counts and the touched symbols are computed by
:mod:`engine.gate.change`, so what the patcher reports and what the gate recounts from git
can never disagree by construction; this module only re-exports them for the patcher.
"""

from __future__ import annotations

from engine.gate.change import count_lines, touched_symbols, unified_diff

__all__ = ["count_lines", "touched_symbols", "unified_diff"]
