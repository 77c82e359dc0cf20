"""The one place ratchet starts a ``git`` process.

``Git.run`` runs the git CLI with a clean, predictable environment: no terminal prompts, the C
locale (so messages can be matched), no pager or editor, no opportunistic index writes, and none
of the variables that would point git at another repository (a daemon started from a git hook
inherits ``GIT_DIR``/``GIT_INDEX_FILE``; obeying them would write someone else's index). Every
command also gets :data:`engine.vcs.safety.SAFE_CONFIG` (no hooks, no signing, no autostash).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from engine import interrupts
from engine.errors import GitError, InputError
from engine.vcs.safety import SAFE_CONFIG

# ``git rev-parse --local-env-vars`` (git 2.39): variables that choose the repository, its
# object store, index or config. Never inherited: the caller names the repository by ``cwd``.
_REPO_LOCATING_VARS = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
        "GIT_DIR",
        "GIT_GRAFT_FILE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_NAMESPACE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_OBJECT_DIRECTORY",
        "GIT_PREFIX",
        "GIT_REPLACE_REF_BASE",
        "GIT_SHALLOW_FILE",
        "GIT_WORK_TREE",
    }
)

_FIXED_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
    "LANGUAGE": "C",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": "true",  # nothing we run should ever open an editor; if it tries, it gets none
    "GIT_OPTIONAL_LOCKS": "0",  # `git status` must not refresh (rewrite) the user's index
}

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class GitResult:
    """What one git process did."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class UnusableRepository(GitError, InputError):
    """The path is not a usable repository (not git, bare, no commits); the message says why."""

    def __init__(self, args: list[str], message: str) -> None:
        self.args_ = args
        self.returncode = -1
        self.stderr = message
        Exception.__init__(self, message)


class RefusedOperation(GitError):
    """ratchet refused a git operation that could touch the user's tree, index, HEAD or
    branches. This is a bug in the caller, never something to retry."""

    def __init__(self, args: list[str], reason: str) -> None:
        self.args_ = args
        self.returncode = -1
        self.stderr = reason
        Exception.__init__(self, f"refused: {reason}")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment minus repository-locating variables, plus our fixed settings,
    plus ``extra`` (which wins)."""
    env = {k: v for k, v in os.environ.items() if k not in _REPO_LOCATING_VARS}
    env.update(_FIXED_ENV)
    if extra:
        env.update(extra)
    return env


class Git:
    """Runs ``git`` with a clean environment and the safety config; the only subprocess user
    in ``engine.vcs``."""

    def __init__(self, binary: str = "git", *, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.binary = binary
        self.timeout = timeout

    def call(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> GitResult:
        """Run ``git <SAFE_CONFIG> *args`` and return its result whatever the exit code
        (``GitResult.args`` is ``args``, without the safety options).

        Raises GitError only when git cannot be started or exceeds the timeout.
        """
        # A SIGTERM during the call is raised when git has ended (interrupts.held): one that
        # split the Popen would leave a git running that nobody waits for.
        with interrupts.held():
            return self._call(args, cwd=cwd, input=input, env=env)

    def _call(
        self,
        args: tuple[str, ...],
        *,
        cwd: Path | None,
        input: str | None,
        env: Mapping[str, str] | None,
    ) -> GitResult:
        argv = [self.binary, *SAFE_CONFIG, *args]
        try:
            proc = subprocess.Popen(  # noqa: S603 - fixed binary, argument list, no shell
                argv,
                cwd=cwd,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=clean_env(env),
            )
        except FileNotFoundError as exc:
            missing = "git is not installed or not on PATH" if exc.filename == self.binary else ""
            raise GitError(list(args), -1, missing or f"cannot run in {cwd}: {exc}") from exc
        with proc:
            try:
                data = input.encode() if input is not None else None
                out, err = proc.communicate(data, timeout=self.timeout)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.wait()
                raise GitError(list(args), -1, f"timed out after {self.timeout:g}s") from exc
            except BaseException:
                # Interrupted (Ctrl-C): let git finish rather than kill it, so it never leaves
                # a ref or index lock or a half-made worktree.
                _wait_out(proc, self.timeout)
                raise
        return GitResult(
            args=tuple(args),
            returncode=proc.returncode,
            stdout=out.decode("utf-8", errors="replace"),
            stderr=err.decode("utf-8", errors="replace"),
        )

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Run ``git *args`` and return its stdout.

        ``env`` adds to (never replaces) the clean environment. With ``check`` (the default) a
        non-zero exit raises GitError carrying the command and git's stderr.
        """
        result = self.call(*args, cwd=cwd, input=input, env=env)
        if check and not result.ok:
            raise GitError(list(args), result.returncode, result.stderr or result.stdout)
        return result.stdout


def _wait_out(proc: subprocess.Popen[bytes], timeout: float | None) -> None:
    """Wait for an interrupted git to end by itself (its pipes drained); kill it only after
    ``timeout``."""
    try:
        proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
