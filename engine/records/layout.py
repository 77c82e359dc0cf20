"""The one definition of ``<repo>/.ratchet/``: every file and directory ratchet keeps there.

``ratchet init`` (and the first cycle) exclude ``.ratchet/`` from git through
``.git/info/exclude``, so nothing here is ever committed or shows up in the user's ``git
status``. Nothing else in the engine spells a name inside the state directory: the cycle,
the providers' caches, the gate's baseline cache, the vcs worktrees and the daemon all ask
this module. Pure: building a :class:`Layout` or calling a function here touches no disk.

Protected as part of the gate (``engine/gate/boundary.py``): it decides where the baseline
cache and the candidate worktrees are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".ratchet"
"""The state directory's name, at the repository's top level."""

EXCLUDE_LINE = f"/{STATE_DIR}/"
"""The line ratchet adds to ``.git/info/exclude`` (anchored at the repository root)."""

EXCLUDE_FORMS = frozenset({STATE_DIR, f"{STATE_DIR}/", f"/{STATE_DIR}", EXCLUDE_LINE})
"""Exclude-file lines that already keep the state directory out of git."""


# Functions of the state directory: for code that is handed a ``state_dir`` (providers).
def journal_file(state_dir: Path) -> Path:
    """``journal.jsonl``: one JSON line per attempt, appended."""
    return state_dir / "journal.jsonl"


def branch_numbers_file(state_dir: Path) -> Path:
    """``branch-numbers.json``: each goal's highest candidate number ever handed out."""
    return state_dir / "branch-numbers.json"


def pending_file(state_dir: Path) -> Path:
    """``pending.json``: accepted candidates waiting for a clean checked-out target."""
    return state_dir / "pending.json"


def cycle_lock_file(state_dir: Path) -> Path:
    """Held (flock) while one cycle runs: two cycles never run at once."""
    return state_dir / "cycle.lock"


NOTES_INDEX_PREFIX = "notes-index-"
"""The name prefix of :func:`notes_index_file` files (recovery removes a dead run's)."""


def notes_index_file(state_dir: Path, token: str) -> Path:
    """A private index file in which one git note is written (removed right after; a kill
    can leave one behind, which nothing reads and the next run's recovery removes)."""
    return state_dir / f"{NOTES_INDEX_PREFIX}{token}"


def worktrees_dir(state_dir: Path) -> Path:
    """Candidate and baseline worktrees (``<goal>-<n>``, ``baseline-<sha>-<pid>``)."""
    return state_dir / "worktrees"


def baseline_cache_dir(state_dir: Path) -> Path:
    """Target-tip metrics cached by commit and measuring setup."""
    return state_dir / "cache" / "baseline"


def static_cache_dir(state_dir: Path) -> Path:
    """Per-file radon/ruff/bandit results by blob id (engine.gate.evaluation.filecache)."""
    return state_dir / "cache" / "static"


def recording_cache_dir(state_dir: Path) -> Path:
    """Behaviour recordings by base content, functions and tests
    (engine.gate.evaluation.recordings)."""
    return state_dir / "cache" / "recordings"


def doctest_cache_dir(state_dir: Path) -> Path:
    """The touched modules' doctest failures on a base, by base content and module
    (engine.gate.evaluation.base_doctests)."""
    return state_dir / "cache" / "doctests"


def rewrite_cache_dir(state_dir: Path) -> Path:
    """pytest's assert-rewritten test modules by content (engine.gate.evaluation.rewrites)."""
    return state_dir / "cache" / "pytest-rewrites"


def llm_cache_dir(state_dir: Path) -> Path:
    """Model answers cached by request."""
    return state_dir / "cache" / "llm"


def spend_dir(state_dir: Path) -> Path:
    """The providers' spend ledger, one JSONL file per UTC day."""
    return state_dir / "spend"


def breaker_dir(state_dir: Path) -> Path:
    """The providers' circuit breakers, one JSON file per key."""
    return state_dir / "breaker"


def response_formats_file(state_dir: Path) -> Path:
    """Which response format each model endpoint accepted (negotiated once, remembered)."""
    return state_dir / "response-formats.json"


def report_dir(state_dir: Path) -> Path:
    """``ratchet report``'s default output: ``index.html`` and ``diffs/``."""
    return state_dir / "report"


def push_state_file(state_dir: Path) -> Path:
    """``push.json``: what ratchet last pushed to each remote branch, and the last push's
    outcome (a branch whose remote tip differs was pushed to by a human)."""
    return state_dir / "push.json"


def caught_gaming_file(state_dir: Path) -> Path:
    """``caught-gaming.json``: providers ``ratchet audit`` caught gaming a trap goal; the
    gate forces ``merge: review`` on their candidates until ``ratchet audit --clear``."""
    return state_dir / "caught-gaming.json"


def endpoint_windows_file(state_dir: Path) -> Path:
    """The context window learned per model endpoint from its refusals (engine.providers.window)."""
    return state_dir / "endpoint-windows.json"


def endpoint_speeds_file(state_dir: Path) -> Path:
    """Measured prompt and answer tokens/s per model endpoint (the adaptive prompt budget)."""
    return state_dir / "endpoint-speeds.json"


def failure_memory_file(state_dir: Path) -> Path:
    """The failure memory (engine.recall): past failures and their vectors, in SQLite; a
    cache rebuilt from the records in git when missing."""
    return state_dir / "memory" / "failures.sqlite"


@dataclass(frozen=True)
class Layout:
    """Every path under ``<repo>/.ratchet/`` for one repository root."""

    repo: Path

    @classmethod
    def for_repo(cls, repo: Path) -> Layout:
        """The layout of ``repo`` resolved to an absolute path."""
        return cls(repo.resolve())

    @property
    def state(self) -> Path:
        return self.repo / STATE_DIR

    # ------------------------------------------------------------------ the cycle
    @property
    def journal(self) -> Path:
        return journal_file(self.state)

    @property
    def pending(self) -> Path:
        return pending_file(self.state)

    @property
    def cycle_lock(self) -> Path:
        return cycle_lock_file(self.state)

    @property
    def worktrees(self) -> Path:
        """Where the cycle makes its candidate worktrees (stale ones are reconciled)."""
        return worktrees_dir(self.state)

    @property
    def baseline_cache(self) -> Path:
        return baseline_cache_dir(self.state)

    @property
    def progress(self) -> Path:
        """Optional: the running cycle reports its step here (``RATCHET_PROGRESS_FILE``)."""
        return self.state / "cycle-progress.json"

    @property
    def cycle_output(self) -> Path:
        """stdout/stderr of the last cycle child process (a prefix: ``.out``/``.err``)."""
        return self.state / "cycle-last"

    # ------------------------------------------------------------------ the daemon
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
    def audit_output(self) -> Path:
        """stdout/stderr prefix of the last scheduled ``ratchet audit`` child."""
        return self.state / "audit-last"

    def canary_output(self, name: str) -> Path:
        """stdout/stderr prefix of one canary step's child process."""
        return self.state / f"canary-{name}"
