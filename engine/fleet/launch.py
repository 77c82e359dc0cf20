"""How the fleet starts a member's process: the argv, working directory and environment.

A member's child is an ordinary ``python -m engine.cli`` command on the member's
repository (``start --repo R`` for the fleet daemon, ``run-once --repo R --json`` for
``fleet run-once``), run through :func:`engine.daemon.child.run_child` (own process group,
dies with the fleet, stragglers killed). The environment is the fleet's, with:

- ``PYTHONPATH`` starting with the ratchet the fleet runs (as the daemon's cycles do);
- :data:`~engine.config.shared.SHARED_EXECUTOR_ENV` set to the fleet's executor when it
  applies to the member, and removed otherwise (one from outside never leaks in);
- ``NOTIFY_SOCKET`` removed: only the fleet daemon talks to systemd.

The working directory is the fleet's state directory, never the member's repository
(``-m`` puts the working directory first on ``sys.path``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from engine.config.shared import SHARED_EXECUTOR_ENV, encode_executor
from engine.daemon.child import ChildSpec
from engine.daemon.cycles import with_engine_path
from engine.fleet.members import Member

DAEMON_GRACE = 90.0  # SIGTERM -> SIGKILL for a member's daemon: its cycle unwinds first


def member_env(member: Member, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    env.pop("NOTIFY_SOCKET", None)
    env.pop(SHARED_EXECUTOR_ENV, None)
    if member.executor is not None:
        env[SHARED_EXECUTOR_ENV] = encode_executor(member.executor)
    env["PYTHONUNBUFFERED"] = "1"
    return with_engine_path(env)


def daemon_spec(member: Member, state: Path, output: Path, *, grace: float) -> ChildSpec:
    """The member's own daemon (``ratchet start``), for as long as the fleet wants it."""
    argv = (sys.executable, "-m", "engine.cli", "start", "--repo", str(member.path))
    return ChildSpec(
        argv=argv,
        cwd=state,
        env=member_env(member),
        timeout=float("inf"),
        grace=grace,
        output=output,
    )


def run_once_spec(member: Member, state: Path, output: Path, *, grace: float) -> ChildSpec:
    """One cycle on the member (``ratchet run-once --json``), within its cycle timeout."""
    argv = (sys.executable, "-m", "engine.cli", "run-once", "--repo", str(member.path))
    return ChildSpec(
        argv=(*argv, "--json", "--quiet"),
        cwd=state,
        env=member_env(member),
        timeout=member.cycle_timeout,
        grace=grace,
        output=output,
    )
