"""The daemon's commands (listed in :data:`engine.cli.app.COMMANDS`).

``start`` (foreground; systemd supervises it), ``stop``, ``status``, ``pause``, ``resume``,
``install-service``, ``pin REV``, ``unpin``. Each returns an exit code (None: done) or
raises from the :mod:`engine.errors` tree, which :func:`engine.cli.app.guard` maps: 1
``stop`` timed out; 2 unusable repository or argument; 3 another daemon already runs for
this repository (:mod:`engine.cli.exits`). Only typer is imported at module level:
``ratchet --help`` must stay fast.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli import output
from engine.cli.exits import EXIT_ERROR

if TYPE_CHECKING:
    from engine.daemon.control import StopResult
    from engine.daemon.paths import StatePaths
    from engine.daemon.status import DaemonStatus

RepoOpt = Annotated[Path, typer.Option("--repo", help="Repository the daemon works on.")]


def _paths(repo: Path) -> StatePaths:
    """The state paths of the repository containing ``repo`` (its top level); an unusable
    repository is an InputError (exit 2)."""
    from engine.daemon.paths import StatePaths
    from engine.errors import GitError, InputError
    from engine.vcs import Repository

    try:
        root = Repository.open(repo).root
    except GitError as exc:
        raise InputError(str(exc)) from exc
    return StatePaths.for_repo(root)


def start(
    repo: RepoOpt = Path("."),
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
) -> int:
    """Run the daemon in the foreground until SIGTERM (systemd: see install-service)."""
    from engine.daemon.loop import Daemon, DaemonOptions
    from engine.errors import GitError, InputError

    paths = _paths(repo)
    dev_command = os.environ.get("RATCHET_CYCLE_COMMAND")  # development hook, see docs
    options = DaemonOptions(
        repo=paths.repo,
        log_json=log_json,
        cycle_command=tuple(shlex.split(dev_command)) if dev_command else None,
    )
    try:
        return Daemon(options).run()  # AlreadyRunning is a DaemonError: exit 3
    except GitError as exc:
        raise InputError(str(exc)) from exc


def stop(
    repo: RepoOpt = Path("."),
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to exit.")] = 120.0,
) -> int | None:
    """Stop the daemon: its running cycle is stopped cleanly, then it exits."""
    from engine.daemon.control import stop as stop_daemon

    return report_stop(stop_daemon(_paths(repo), timeout=timeout), timeout, "the daemon")


def report_stop(result: StopResult, timeout: float, holder: str) -> int | None:
    """Say how a stop went (``holder``: who held the lock); EXIT_ERROR if it did not."""
    if result.kind == "not-running":
        output.echo("not running")
    elif result.kind == "stopped":
        output.echo(f"stopped (pid {result.pid}, {result.seconds:.1f}s)")
    elif result.kind == "unknown-pid":
        output.error(f"{holder} holds its lock but its pid is unknown; is it starting?")
        return EXIT_ERROR
    else:
        output.error(f"pid {result.pid} did not exit within {timeout:g}s")
        return EXIT_ERROR
    return None


def status(
    repo: RepoOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Show whether the daemon runs, its cycle, next run and last outcomes.

    Also the configuration error if any, the known-good revision and today's spend.
    """
    from engine.daemon.lock import is_running
    from engine.daemon.status import DaemonStatus, read_status

    paths = _paths(repo)
    running = is_running(paths.lock)
    current = read_status(paths.status) or DaemonStatus()
    if not running:
        from engine.cli.status_offline import read_offline_status, render_offline
        from engine.daemon.control import is_paused, read_pin

        current = dataclasses.replace(
            current,
            state="stopped",
            cycle=None,
            next_run=None,
            paused=is_paused(paths),
            pinned=read_pin(paths),
        )
        offline = read_offline_status(paths.repo)  # the daemon's last words may be stale
        if as_json:
            stopped = {"running": False, "repo": str(paths.repo), **current.to_json()}
            held = {"caught_gaming": _caught(paths.repo, as_json=True)}
            held["model_windows"] = _windows(paths.repo, as_json=True)
            output.emit_json({**stopped, **offline.to_json(), **held}, indent=2, sort_keys=True)
            return
        lines = render_offline(paths.repo, offline, paused=current.paused)
        if current.pinned:
            lines.append(f"  pinned:        {current.pinned} (`ratchet unpin` lifts it)")
        output.echo("\n".join(lines + _caught(paths.repo) + _windows(paths.repo)))
        return
    from engine.cli.status_offline import outlook_section, read_outlook

    questions, plans = read_outlook(paths.repo)
    if as_json:
        data: dict[str, Any] = {"running": running, "repo": str(paths.repo), **current.to_json()}
        data |= {"questions": list(questions), "plans": list(plans)}
        data["caught_gaming"] = _caught(paths.repo, as_json=True)
        data["model_windows"] = _windows(paths.repo, as_json=True)
        output.emit_json(data, indent=2, sort_keys=True)
        return
    lines = render_status(paths.repo, running, current) + outlook_section(questions, plans)
    output.echo("\n".join(lines + _caught(paths.repo) + _windows(paths.repo)))


def _caught(repo: Path, *, as_json: bool = False) -> list[Any]:
    """The providers ``ratchet audit`` caught gaming (held for review), as lines or data."""
    from dataclasses import asdict

    from engine.gate.caught import read_caught
    from engine.records.layout import STATE_DIR

    held = read_caught(repo / STATE_DIR)
    if as_json:
        return [asdict(c) for c in held]
    return [
        f"  caught gaming: {c.provider} on {c.trap or '?'} ({c.evidence or c.outcome}); "
        "its changes wait for review until `ratchet audit --clear`"
        for c in held
    ]


def _windows(repo: Path, *, as_json: bool = False) -> list[Any]:
    """The context windows model endpoints refused beyond and still in force
    (:class:`engine.providers.window.WindowMemory`): why a model gets small prompts. The
    providers are imported only when the file exists (``status`` starts fast)."""
    from engine.records.layout import STATE_DIR, endpoint_windows_file

    path = endpoint_windows_file(repo / STATE_DIR)
    if not path.is_file():
        return []
    from datetime import UTC, datetime

    from engine.providers.window import WindowMemory

    rows = [
        {
            "endpoint": key,
            "tokens": window.tokens,
            "learned": datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"),
        }
        for key, (window, at) in WindowMemory(repo / STATE_DIR).entries().items()
    ]
    if as_json:
        return rows
    return [
        f"  model window:  {r['endpoint']}: {r['tokens']} tokens (learned {r['learned']} from "
        f"its refusal; prompts fit it for a day, or delete {path.relative_to(repo)})"
        for r in rows
    ]


def render_status(repo: Path, running: bool, s: DaemonStatus) -> list[str]:
    """The human-readable ``ratchet status`` (pure; printed through the output layer)."""
    head = f"ratchet daemon for {repo}: "
    head += f"running (pid {s.pid}, since {s.started})" if running else "not running"
    lines = [head, f"  state:         {s.state}{'  [PAUSED]' if s.paused else ''}"]
    if s.cycle is not None:
        goal = s.cycle.goal or "(choosing)"
        lines.append(
            f"  cycle:         goal {goal}, step {s.cycle.step}, since "
            f"{s.cycle.started} ({s.cycle.reason})"
        )
    if s.waiting:
        lines.append(f"  waiting:       {s.waiting}")
    lines.append(f"  next run:      {s.next_run or '-'}")
    summary, *details = s.config_lines()
    lines.append(f"  configuration: {summary}")
    lines += [f"    {line}" for line in details]
    if s.self_hosting:
        lines.append(
            f"  known-good:    {s.known_good or '-'}"
            + (f"  PINNED to {s.pinned}" if s.pinned else "")
        )
    spend = s.spend_today
    lines.append(
        f"  spend today:   ${spend.usd:.4f}, {spend.tokens} tokens, "
        f"{spend.cycles} cycle(s)" + (f" ({spend.date})" if spend.date else "")
    )
    if s.review_branches:
        lines.append(f"  review:        {', '.join(s.review_branches)}")
    if s.human_branches:
        lines.append(f"  human-owned:   {', '.join(s.human_branches)} (never touched)")
    if s.last_outcomes:
        lines.append("  last outcomes:")
        for o in s.last_outcomes[:5]:
            lines.append(
                f"    {o.finished}  {o.goal or '-':<16} {o.outcome:<13} "
                f"{o.seconds:>7.1f}s  {o.message[:60]}"
            )
    for note in s.notes[:3]:
        lines.append(f"  note: {note}")
    return lines


def pause(repo: RepoOpt = Path(".")) -> None:
    """Pause the daemon: its running cycle is stopped cleanly, no new one starts.

    The pause holds across restarts, until `ratchet resume`.
    """
    from engine.daemon.control import pause as do_pause
    from engine.daemon.lock import is_running

    paths = _paths(repo)
    do_pause(paths)
    if is_running(paths.lock):
        output.echo("paused")
    else:
        output.echo(
            "paused: no daemon is running; the pause applies when it starts "
            "(until `ratchet resume`)"
        )


def resume(repo: RepoOpt = Path(".")) -> None:
    """Resume after `ratchet pause`."""
    from engine.daemon.control import resume as do_resume

    do_resume(_paths(repo))
    output.echo("resumed")


def pin(
    rev: Annotated[str, typer.Argument(help="Revision the cycles must run from.")],
    repo: RepoOpt = Path("."),
) -> None:
    """Self-hosting: run cycles from REV (instead of known-good) until `ratchet unpin`."""
    from engine.daemon.control import pin as do_pin
    from engine.daemon.selfhost import is_self_hosting
    from engine.errors import InputError
    from engine.vcs import Repository

    paths = _paths(repo)
    sha = Repository(paths.repo).rev_parse(rev) if not rev.startswith("-") else None
    if sha is None:
        raise InputError(f"{rev!r} is not a commit in {paths.repo}")
    do_pin(paths, sha)
    output.echo(f"pinned to {sha}")
    if not is_self_hosting(paths.repo):
        output.echo(
            f"note: {paths.repo} is not ratchet itself, so its cycles run from the "
            "installed ratchet; the pin takes effect only for a self-hosting repository"
        )


def unpin(repo: RepoOpt = Path(".")) -> None:
    """Go back to the known-good revision after `ratchet pin`."""
    from engine.daemon.control import unpin as do_unpin

    do_unpin(_paths(repo))
    output.echo("unpinned")


def install_service(repo: RepoOpt = Path(".")) -> None:
    """Write a systemd user unit for this repository's daemon and print how to enable it."""
    from engine.daemon.cycles import engine_root
    from engine.daemon.service import install_unit

    paths = _paths(repo)
    root = engine_root()
    environment = {}
    if not any(part in ("site-packages", "dist-packages") for part in root.parts):
        environment["PYTHONPATH"] = str(root)  # ratchet is not installed: run it from here
    unit = install_unit(paths.repo, (sys.executable, "-P", "-m", "engine.cli"), environment)
    output.echo(f"wrote {unit.path}")
    output.echo("enable and start it with:")
    for command in unit.enable_commands:
        output.echo(f"  {command}")
