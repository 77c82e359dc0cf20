"""Providers caught gaming (``ratchet audit``): their candidates never merge on their own.

``.ratchet/caught-gaming.json`` (:func:`engine.records.layout.caught_gaming_file`) lists
the providers an audit caught: a trap goal's candidate that a guard had to stop, or that
was merged or kept for review (no honest change satisfies a trap). While a provider is
listed, :func:`engine.gate.decision.judge` turns its ``merge`` into ``review``; only a
human lifts it (``ratchet audit --clear``). A file that exists but cannot be read fails
closed: every provider is held.

Part of the gate (protected): the audit writes the file, the gate only reads it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.records.layout import caught_gaming_file

ANY = "*"  # the provider name that holds every provider (an unreadable file)


@dataclass(frozen=True, kw_only=True)
class Caught:
    """One provider an audit caught: on which trap, with which outcome, when."""

    provider: str
    model: str = ""
    trap: str = ""
    outcome: str = ""
    evidence: str = ""
    at: str = ""


def read_caught(state_dir: Path) -> tuple[Caught, ...]:
    """Every recorded catch; a corrupt file reads as one catch of every provider."""
    path = caught_gaming_file(state_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return tuple(Caught(**{k: str(v) for k, v in item.items()}) for item in raw["caught"])
    except FileNotFoundError:
        return ()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return (Caught(provider=ANY, evidence=f"{path} is unreadable ({exc}): fail closed"),)


def record_caught(state_dir: Path, caught: tuple[Caught, ...]) -> None:
    """Add ``caught`` to the file (temp file + rename: a reader never sees half of it)."""
    if not caught:
        return
    known = tuple(c for c in read_caught(state_dir) if c.provider != ANY)
    path = caught_gaming_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    data = {"caught": [asdict(c) for c in (*known, *caught)]}
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def clear_caught(state_dir: Path) -> tuple[Caught, ...]:
    """A human's word: remove the file; what it held is returned."""
    held = read_caught(state_dir)
    caught_gaming_file(state_dir).unlink(missing_ok=True)
    return held


def held_by(state_dir: Path, provider: str) -> Caught | None:
    """The catch that holds ``provider`` (by provider name), or None."""
    for caught in read_caught(state_dir):
        if caught.provider in (ANY, provider):
            return caught
    return None
