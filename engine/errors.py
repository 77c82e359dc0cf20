"""The one exception hierarchy of ratchet. Every message says what to do about it.

::

    RatchetError
     ├── ConfigError          goals.yaml, directives.yaml, rules/ or a plan file is invalid (2)
     │    └── FleetFileError    a fleet file (``ratchet fleet``) is invalid (exit 7)
     ├── InputError           a command-line argument or file is unusable (exit 2)
     │    └── UnknownGuardError     a guard name that is not in the guard registry
     ├── GitError             a git command failed; carries the command and git's stderr
     │    └── RevertConflict   a commit does not revert cleanly (later changes conflict)
     ├── SandboxError         candidate code cannot be run safely (no bubblewrap, ...)
     ├── ProviderError        a provider could not produce a proposal
     │    ├── ProviderUnavailable   the goal needs a model and none is configured
     │    ├── ProviderTransient     rate limit, 5xx, timeout, connection: worth a retry
     │    └── MalformedAnswer       the answer is not a valid edit plan
     ├── BudgetExceeded       a spending cap was reached; no further calls this cycle/day
     └── DaemonError          lock held by another daemon, bad daemon state
"""

from __future__ import annotations

from dataclasses import dataclass


class RatchetError(Exception):
    """Base class: anything ratchet raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one file: rendered as ``FILE:LINE:COL: field: problem, fix``."""

    file: str
    line: int
    col: int
    field: str
    problem: str
    fix: str = ""
    warning: bool = False  # worth saying, not worth refusing (``ratchet check --strict`` does)

    def render(self) -> str:
        tail = f"; {self.fix}" if self.fix else ""
        kind = "warning: " if self.warning else ""
        return f"{self.file}:{self.line}:{self.col}: {kind}{self.field}: {self.problem}{tail}"


class ConfigError(RatchetError):
    """One or more configuration issues; ``str()`` lists them one per line."""

    def __init__(
        self, issues: list[ConfigIssue] | ConfigIssue, warnings: tuple[ConfigIssue, ...] = ()
    ) -> None:
        self.issues = [issues] if isinstance(issues, ConfigIssue) else list(issues)
        self.warnings = warnings  # found alongside; not part of the message
        super().__init__("\n".join(i.render() for i in self.issues))


class FleetFileError(ConfigError):
    """The fleet file itself is invalid (not a member's configuration): no member runs."""


class InputError(RatchetError):
    """A command-line argument or an input file is unusable."""


class UnknownGuardError(InputError, LookupError):
    """A guard name that the registry (``engine.gate.guards.registry``) does not know."""

    def __init__(self, name: str, valid: tuple[str, ...]) -> None:
        self.name = name
        self.valid = valid
        super().__init__(f"unknown guard {name!r}; valid guard names: {', '.join(valid)}")


class GitError(RatchetError):
    """A git command failed."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}")


class RevertConflict(GitError):
    """A commit does not revert cleanly onto its branch: later commits changed the same
    lines. Nothing was changed; ``files`` are the conflicting paths."""

    def __init__(self, commit: str, files: tuple[str, ...], stderr: str) -> None:
        super().__init__(["revert", commit], 1, stderr)
        self.commit = commit
        self.files = files


class SandboxError(RatchetError):
    """Candidate code cannot be run safely; install bubblewrap or set sandbox: unsafe-none."""


class ProviderError(RatchetError):
    """A provider could not produce a proposal."""


class ProviderUnavailable(ProviderError):
    """The goal needs a model provider and none is configured."""


class ProviderTransient(ProviderError):
    """A temporary fault (rate limit, 5xx, timeout, connection): worth a retry."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ContextTooLong(ProviderError):
    """The model's context window cannot hold the request (the server refused it):
    ``window`` its size in the server's tokens and ``prompt_tokens`` the prompt's, where
    the refusal says (:mod:`engine.providers.window`)."""

    def __init__(
        self, message: str, *, window: int | None = None, prompt_tokens: int | None = None
    ) -> None:
        self.window = window
        self.prompt_tokens = prompt_tokens
        super().__init__(message)


class MalformedAnswer(ProviderError):
    """The provider's answer is not a valid edit plan."""


class BudgetExceeded(RatchetError):
    """A spending cap in directives.budgets was reached."""


class DaemonError(RatchetError):
    """The daemon cannot start or be reached (lock held, bad state)."""
