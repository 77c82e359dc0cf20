"""A small JSON object kept in one file under ``.ratchet/`` (facts remembered per endpoint).

:class:`StateFile` reads a missing, unreadable or corrupt file as empty (what it held is
only ever an optimisation, relearned on the next call) and writes by temp file and rename,
so a reader never sees half a file. ``path`` None: nothing is read or kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class StateFile:
    """One JSON object in ``path`` (see the module docstring)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, data: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
