"""Talking to a remote: list its refs, push refspecs with per-ref leases.

Every call goes through the repository's one git runner (the safety config, no prompt:
``GIT_TERMINAL_PROMPT=0``), with the remote named as configured in the repository (never a
URL from a record). Pushes are ``--porcelain``, so each ref's result is read, not guessed:
one rejected ref never hides the others, and nothing here raises for a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.errors import GitError
from engine.vcs.core import RepositoryCore, checked_arg


@dataclass(frozen=True)
class RefPushed:
    """One ref's line of ``git push --porcelain``."""

    ref: str  # the remote ref
    ok: bool
    flag: str  # " " fast-forward, "+" forced, "-" deleted, "*" new, "=" up to date, "!" rejected
    summary: str


@dataclass(frozen=True)
class PushOutcome:
    refs: tuple[RefPushed, ...]
    error: str = ""  # git's own message when the push failed as a whole or a ref did


def remotes(repo: RepositoryCore) -> list[str]:
    """The names of the repository's remotes (``git remote``)."""
    return repo._run("remote").split()


def has_remote(repo: RepositoryCore, remote: str) -> bool:
    return remote in remotes(repo)


def ls_remote(repo: RepositoryCore, remote: str, patterns: Sequence[str]) -> dict[str, str]:
    """The remote's refs matching ``patterns`` (ref -> sha); GitError when it cannot be read."""
    out = repo._run("ls-remote", "--", checked_arg(remote), *patterns)
    refs = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref and not ref.endswith("^{}"):
            refs[ref] = sha
    return refs


def push(
    repo: RepositoryCore,
    remote: str,
    refspecs: Sequence[str],
    *,
    leases: Mapping[str, str] = {},  # noqa: B006 - read only
) -> PushOutcome:
    """``git push --porcelain REMOTE REFSPECS`` with ``--force-with-lease=REF:EXPECTED`` for
    each lease (EXPECTED "" = the ref must not exist there): a ref whose remote value is
    not the expected one is rejected, never overwritten."""
    if not refspecs:
        return PushOutcome(())
    args = ["push", "--porcelain", "--no-verify"]
    args += [f"--force-with-lease={ref}:{sha}" for ref, sha in leases.items()]
    args += ["--", checked_arg(remote), *refspecs]
    try:
        result = repo._call(*args)
    except GitError as exc:  # git could not start or timed out
        return PushOutcome((), error=str(exc))
    refs = []
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            flag, spec, summary = parts[0], parts[1], parts[2]
            refs.append(RefPushed(spec.rpartition(":")[2], flag != "!", flag, summary))
    error = "" if result.ok else (result.stderr.strip() or result.stdout.strip())
    return PushOutcome(tuple(refs), error=error)
