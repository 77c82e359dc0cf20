"""Where the daemon keeps its state: the daemon's name for :class:`engine.records.layout.Layout`.

Everything lives under ``<repo>/.ratchet/``, defined once in :mod:`engine.records.layout`.
"""

from __future__ import annotations

from engine.records.layout import Layout as StatePaths

__all__ = ["StatePaths"]
