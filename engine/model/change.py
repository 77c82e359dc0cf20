"""What a candidate's diff touches (``ChangeFacts``): its own module, so that what reads
the rules' schema (the load-time type check, ``ratchet status``) does not define the
cycle's report types too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class ChangeFacts:
    """What a candidate's diff touches; seen by rules as ``change`` (with ``change.lines``)."""

    DERIVED: ClassVar[tuple[str, ...]] = ("lines",)

    files: tuple[str, ...] = ()
    lines_added: int = 0
    lines_removed: int = 0
    symbols: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()  # protected paths touched
    tests_touched: tuple[str, ...] = ()
    empty: bool = True
    # static guard findings: {guard, file, line, evidence}
    findings: tuple[dict[str, Any], ...] = ()

    @property
    def lines(self) -> int:
        return self.lines_added + self.lines_removed
