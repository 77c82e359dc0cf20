"""Self-modification, safely: which revision of ratchet's own code the cycles run from.

When the repository *is* ratchet (it has ``engine/cycle/``, or ``engine/cycle.py`` before
0.2, and its pyproject names the
distribution ``ratchetd``), cycles never run from the files they are editing. They run from a
known-good revision — tag ``ratchet/known-good``, checked out in a detached worktree
``.ratchet/runtime/<sha>`` — or from a revision a human pinned (``ratchet pin REV``).

A merge that changes ratchet's own code (``engine/``, ``pyproject.toml``) is promoted to
known-good only after a canary passes (see :mod:`engine.daemon.canary`). When the canary fails,
the bot's merges that changed the code are reverted on the target with a commit saying why,
and that code is remembered as bad. When a promoted revision crashes at its first cycle or
fails N cycles in a row, the tag goes back to the previous known-good, and that is recorded.
State (previous revisions, bad code, failure count, events) is in ``.ratchet/selfhost.json``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.daemon.control import read_pin
from engine.daemon.paths import StatePaths
from engine.daemon.status import read_json, write_json_atomic
from engine.vcs import Repository
from engine.vcs.upkeep import (
    add_detached_worktree,
    rev_list,
    set_tag,
    tree_id,
)

KNOWN_GOOD = "ratchet/known-good"  # the tag (refs/tags/ratchet/known-good)
SELF_PATHS = ("engine", "pyproject.toml")  # what "ratchet's own code" is
MAX_EVENTS = 50


def is_self_hosting(root: Path) -> bool:
    """True when ``root`` is a checkout of ratchet itself."""
    if not ((root / "engine" / "cycle").is_dir() or (root / "engine" / "cycle.py").is_file()):
        return False
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return bool(data.get("project", {}).get("name") == "ratchetd")


@dataclass(frozen=True, kw_only=True)
class SelfHostRecord:
    previous: tuple[str, ...] = ()  # earlier known-good revisions, newest first
    bad: tuple[str, ...] = ()  # code keys that failed a canary or were rolled back
    failures: int = 0  # consecutive failed cycles on the current known-good
    cycles_since_promotion: int = 0
    events: tuple[dict[str, Any], ...] = ()  # newest first

    def with_event(self, **event: Any) -> SelfHostRecord:
        event = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **event}
        return dataclasses.replace(self, events=(event, *self.events)[:MAX_EVENTS])


class SelfHost:
    """Known-good bookkeeping for one self-hosting repository. No I/O in the constructor."""

    def __init__(self, repo: Repository, paths: StatePaths) -> None:
        self.repo = repo
        self.paths = paths

    # ------------------------------------------------------------------ state

    def load(self) -> SelfHostRecord:
        raw = read_json(self.paths.selfhost, {})
        if not isinstance(raw, dict):
            return SelfHostRecord()
        return SelfHostRecord(
            previous=tuple(raw.get("previous", ())),
            bad=tuple(raw.get("bad", ())),
            failures=int(raw.get("failures", 0)),
            cycles_since_promotion=int(raw.get("cycles_since_promotion", 0)),
            events=tuple(raw.get("events", ())),
        )

    def save(self, record: SelfHostRecord) -> None:
        write_json_atomic(self.paths.selfhost, dataclasses.asdict(record))

    def known_good(self) -> str | None:
        return self.repo.rev_parse(f"refs/tags/{KNOWN_GOOD}")

    def pinned(self) -> str | None:
        return read_pin(self.paths)

    def runtime_revision(self) -> str | None:
        """The revision cycles run from now: the pin, else known-good."""
        return self.pinned() or self.known_good()

    def ensure_known_good(self, tip: str) -> str:
        """Known-good, created at ``tip`` on the very first start."""
        current = self.known_good()
        if current is not None:
            return current
        set_tag(self.repo, KNOWN_GOOD, tip, None)
        self.save(self.load().with_event(action="initial", sha=tip))
        return self.known_good() or tip

    # ------------------------------------------------------------------ runtime worktrees

    def runtime(self, sha: str) -> Path:
        """A detached worktree of ``sha`` under ``.ratchet/runtime/`` (reused when present)."""
        path = self.paths.runtime / sha
        if (path / "engine").is_dir() and self.repo.head_of(path) == sha:
            return path
        return add_detached_worktree(self.repo, self.paths.runtime, sha, sha)

    def prune_runtimes(self, keep: set[str]) -> list[str]:
        """Remove runtime worktrees of revisions not in ``keep``."""
        removed = []
        if self.paths.runtime.is_dir():
            for child in sorted(self.paths.runtime.iterdir()):
                if child.name not in keep:
                    self.repo.remove_worktree(child, base=self.paths.runtime)
                    removed.append(child.name)
        return removed

    # ------------------------------------------------------------------ promotion

    def code_key(self, sha: str) -> str:
        """Identity of ratchet's own code at ``sha`` (tree/blob ids of ``SELF_PATHS``)."""
        return ":".join(tree_id(self.repo, sha, p) for p in SELF_PATHS)

    def needs_canary(self, tip: str) -> bool:
        """The code at ``tip`` differs from known-good's and was not refused before."""
        good = self.known_good()
        if good is None or self.pinned() is not None:
            return False
        key = self.code_key(tip)
        return key != self.code_key(good) and key not in self.load().bad

    def code_commits(self, base: str, tip: str) -> list[str]:
        """Commits in ``base..tip`` that change ratchet's own code, newest first."""
        return rev_list(self.repo, f"{base}..{tip}", "--", *SELF_PATHS)

    def promote(self, sha: str, detail: str) -> bool:
        old = self.known_good()
        if not set_tag(self.repo, KNOWN_GOOD, sha, old):
            return False
        record = self.load()
        previous = ((old,) if old else ()) + record.previous
        self.save(
            dataclasses.replace(
                record, previous=previous[:10], failures=0, cycles_since_promotion=0
            ).with_event(action="promoted", sha=sha, previous=old, detail=detail)
        )
        return True

    def refuse(self, sha: str, detail: str, reverts: list[str]) -> None:
        """Remember ``sha``'s code as bad (a failed canary), with the reverts made for it."""
        record = self.load()
        self.save(
            dataclasses.replace(record, bad=(self.code_key(sha), *record.bad)[:50]).with_event(
                action="canary-failed", sha=sha, detail=detail, reverts=reverts
            )
        )

    def record_cycle(self, *, failed: bool, crashed: bool, threshold: int) -> str | None:
        """Count a finished cycle of the current known-good; the reason to roll back, if due:
        a crash at the first cycle after a promotion, or ``threshold`` failures in a row."""
        record = self.load()
        failures = record.failures + 1 if failed else 0
        first = record.cycles_since_promotion == 0
        record = dataclasses.replace(
            record, failures=failures, cycles_since_promotion=record.cycles_since_promotion + 1
        )
        self.save(record)
        if not record.previous or self.pinned() is not None:
            return None  # nothing to roll back to, or a human chose the revision
        if crashed and first:
            return "the promoted revision crashed at its first cycle"
        if failures >= threshold:
            return f"{failures} failed cycles in a row"
        return None

    def rollback(self, reason: str) -> str | None:
        """Move known-good back to the previous revision; the new known-good, or None."""
        record = self.load()
        current = self.known_good()
        if not record.previous or current is None:
            return None
        target = record.previous[0]
        if not set_tag(self.repo, KNOWN_GOOD, target, current):
            return None
        self.save(
            dataclasses.replace(
                record,
                previous=record.previous[1:],
                bad=(self.code_key(current), *record.bad)[:50],
                failures=0,
                cycles_since_promotion=0,
            ).with_event(action="rolled-back", sha=target, previous=current, detail=reason)
        )
        return target
