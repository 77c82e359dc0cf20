"""``ratchet fleet ...``: one fleet file, many repositories (listed in
:data:`engine.cli.app.FLEET_COMMANDS`).

``check``, ``status``, ``run-once``, ``daemon`` (foreground), ``stop``, ``pause [NAME]``,
``resume [NAME]``; each takes ``--fleet FILE`` (default ``fleet.yaml``). An invalid fleet
file is a FleetFileError: exit 7 with ``FILE:LINE:COL: field: problem; fix``. A member that
is unusable is reported and skipped; the others go on. Only typer is imported at module
level: ``ratchet --help`` must stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli import output
from engine.cli.exits import EXIT_CYCLE_FAILED

if TYPE_CHECKING:
    from engine.fleet.file import Fleet
    from engine.fleet.members import Member
    from engine.fleet.state import FleetPaths

FleetOpt = Annotated[
    Path, typer.Option("--fleet", help="The fleet file (repositories this fleet steers).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object.")]
NameArg = Annotated[
    str | None, typer.Argument(help="One member (its name); without it, the whole fleet.")
]
DEFAULT = Path("fleet.yaml")


def _load(fleet_file: Path) -> tuple[Fleet, FleetPaths]:
    from engine.fleet.file import load_fleet
    from engine.fleet.state import FleetPaths

    fleet = load_fleet(fleet_file)
    return fleet, FleetPaths(fleet.state_dir)


def _members(fleet: Fleet) -> tuple[Member, ...]:
    from engine.fleet.members import resolve_members

    return resolve_members(fleet)


def check(fleet_file: FleetOpt = DEFAULT, as_json: JsonOpt = False) -> int | None:
    """Validate the fleet file and every member's own configuration (as `ratchet check`).

    Exit 7: the fleet file is invalid; 4: a member is unusable (listed, and skipped by
    run-once and the daemon); 0: all members usable (their warnings on stderr)."""
    fleet, _ = _load(fleet_file)
    members = _members(fleet)
    if as_json:
        output.emit_json({"file": str(fleet.file), "members": [m.to_json() for m in members]})
    else:
        for member in members:
            for warning in member.warnings:
                output.warn(warning)
            for problem in member.problems:
                output.warn(problem)
            state = "ok" if member.usable else "skipped"
            output.echo(f"{member.name:<20} {state:<8} {member.path}")
        usable = sum(m.usable for m in members)
        output.echo(f"{usable} of {len(members)} member(s) usable")
    return None if all(m.usable for m in members) else EXIT_CYCLE_FAILED


def run_once(
    fleet_file: FleetOpt = DEFAULT,
    as_json: JsonOpt = False,
    parallel: Annotated[
        int | None,
        typer.Option("--parallel", min=1, max=32, help="Members at once (fleet file: parallel)."),
    ] = None,
) -> int:
    """One cycle on every usable, unpaused member (each `ratchet run-once`).

    Exit 0 when each completed its cycle, 4 when one was skipped or its cycle failed."""
    import signal
    import threading

    from engine.fleet.runonce import run_fleet_once

    fleet, _ = _load(fleet_file)
    members = _members(fleet)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # the children are in their own sessions
    result = run_fleet_once(
        fleet,
        members,
        parallel=parallel,
        should_stop=lambda: "stopped by a signal" if stop.is_set() else None,
    )
    for run in result.runs:
        line = f"{run.name:<20} {run.outcome:<14} {run.seconds:>7.1f}s  {run.message[:100]}"
        output.echo(line)
    output.echo(f"fleet: {len(result.runs)} member(s) in {result.seconds:.1f}s")
    if as_json:
        output.emit_json(result.to_json())
    return result.exit_code


def daemon(
    fleet_file: FleetOpt = DEFAULT,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="Log one JSON object per line.")
    ] = False,
) -> int:
    """Run the fleet daemon in the foreground: each member's own daemon, kept running."""
    from engine.fleet.supervisor import FleetDaemon

    return FleetDaemon(fleet_file, log_json=log_json).run()


def stop(
    fleet_file: FleetOpt = DEFAULT,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to exit.")] = 180.0,
) -> int | None:
    """Stop the fleet daemon: every member's daemon is stopped cleanly, then it exits."""
    from engine.cli.daemon_commands import report_stop
    from engine.fleet.state import stop_fleet

    _, paths = _load(fleet_file)
    return report_stop(stop_fleet(paths, timeout=timeout), timeout, "the fleet daemon")


def pause(name: NameArg = None, fleet_file: FleetOpt = DEFAULT) -> None:
    """Pause the whole fleet, or one member: its daemon is stopped cleanly (its running
    cycle archived), none is started again until `ratchet fleet resume`."""
    from engine.fleet.state import pause as do_pause

    fleet, paths = _load(fleet_file)
    _known(fleet, name)
    do_pause(paths, name)
    output.echo(f"paused {name or 'the fleet'}")


def resume(name: NameArg = None, fleet_file: FleetOpt = DEFAULT) -> None:
    """Resume after `ratchet fleet pause` (the whole fleet, or one member)."""
    from engine.fleet.state import resume as do_resume

    fleet, paths = _load(fleet_file)
    _known(fleet, name)
    do_resume(paths, name)
    output.echo(f"resumed {name or 'the fleet'}")


def _known(fleet: Fleet, name: str | None) -> None:
    from engine.errors import InputError

    if name is not None and fleet.entry(name) is None:
        names = ", ".join(e.name for e in fleet.entries)
        raise InputError(f"no member named {name!r} in {fleet.shown}; members: {names}")


def status(fleet_file: FleetOpt = DEFAULT, as_json: JsonOpt = False) -> None:
    """The fleet daemon and each member: its daemon's state, pid, restarts, last outcome."""
    from engine.daemon.lock import is_running
    from engine.daemon.status import read_status
    from engine.fleet.state import is_paused, read_fleet_status
    from engine.records.layout import Layout

    fleet, paths = _load(fleet_file)
    running = is_running(paths.lock)
    known = read_fleet_status(paths) if running else None
    kept = {m.name: m for m in known.members} if known else {}
    rows: list[dict[str, Any]] = []
    for entry in fleet.entries:
        seen = kept.get(entry.name)
        layout = Layout(Path(seen.path) if seen else entry.path)  # the repository's top
        member_daemon = read_status(layout.status)
        last = (
            member_daemon.last_outcomes[0]
            if member_daemon and member_daemon.last_outcomes
            else None
        )
        rows.append(
            {
                "name": entry.name,
                "path": str(entry.path),
                "fleet_state": seen.state if seen else ("paused" if entry.paused else "-"),
                "message": seen.message if seen else "",
                "restarts": seen.restarts if seen else 0,
                "paused": entry.paused or is_paused(paths, entry.name),
                "daemon_running": is_running(layout.lock),
                "daemon_pid": member_daemon.pid if member_daemon else 0,
                "last_outcome": last.outcome if last else None,
                "last_goal": last.goal if last else None,
            }
        )
    data = {
        "file": str(fleet.file),
        "running": running,
        "pid": known.pid if known else 0,
        "state": (known.state if known else "stopped"),
        "paused": is_paused(paths),
        "fleet_error": known.fleet_error if known else None,
        "members": rows,
    }
    if as_json:
        output.emit_json(data, indent=2, sort_keys=True)
        return
    head = f"ratchet fleet {fleet.shown}: "
    head += f"running (pid {data['pid']})" if running else "not running"
    lines = [head + ("  [PAUSED]" if data["paused"] else "")]
    if data["fleet_error"]:
        lines.append(f"  fleet file INVALID (the last good one is in force): {data['fleet_error']}")
    for row in rows:
        daemon = "daemon running" if row["daemon_running"] else "no daemon"
        outcome = f"last {row['last_outcome']} ({row['last_goal']})" if row["last_outcome"] else ""
        lines.append(
            f"  {row['name']:<16} {row['fleet_state']:<11} {daemon:<15} "
            f"restarts {row['restarts']:<3} {outcome}"
        )
        if row["message"]:
            lines.append(f"    {row['message'][:200]}")
    output.echo("\n".join(lines))
