"""Where the daemon keeps its state: everything lives under ``<repo>/.ratchet/``.

``ratchet init`` excludes ``.ratchet/`` from git through ``.git/info/exclude``, so nothing here
is ever committed or shows up in the user's ``git status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StatePaths:
    """The daemon's files for one repository. Pure: building one touches no disk."""

    repo: Path

    @classmethod
    def for_repo(cls, repo: Path) -> StatePaths:
        return cls(repo.resolve())

    @property
    def state(self) -> Path:
        return self.repo / ".ratchet"

    @property
    def lock(self) -> Path:
        """Held (flock) for the whole life of the one daemon of this repository."""
        return self.state / "daemon.lock"

    @property
    def status(self) -> Path:
        """``daemon.json``: what ``ratchet status`` shows."""
        return self.state / "daemon.json"

    @property
    def log(self) -> Path:
        return self.state / "daemon.log"

    @property
    def control(self) -> Path:
        """Requests from ``ratchet pause|resume|pin|unpin``: one small file each."""
        return self.state / "control"

    @property
    def paused(self) -> Path:
        return self.control / "paused"

    @property
    def pin(self) -> Path:
        return self.control / "pin"

    @property
    def last_runs(self) -> Path:
        """When each schedule entry last fired: the catch-up of a missed nightly run."""
        return self.state / "daemon-schedule.json"

    @property
    def runtime(self) -> Path:
        """Self-hosting: worktrees of known-good revisions the cycles run from."""
        return self.state / "runtime"

    @property
    def selfhost(self) -> Path:
        """Self-hosting: promotion history, bad revisions, consecutive failures."""
        return self.state / "selfhost.json"

    @property
    def canary(self) -> Path:
        """Scratch clones the canary runs in (removed after each canary)."""
        return self.state / "canary"

    @property
    def worktrees(self) -> Path:
        """Where the cycle makes its candidate worktrees (stale ones are reconciled)."""
        return self.state / "worktrees"

    @property
    def progress(self) -> Path:
        """Optional: the running cycle reports its step here (``RATCHET_PROGRESS_FILE``)."""
        return self.state / "cycle-progress.json"
