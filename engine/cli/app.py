"""The ``ratchet`` typer app: the command table, and the one place that maps errors to
exit codes (:func:`guard`; the codes are in :mod:`engine.cli.exits`).

A command is a plain function in :mod:`~engine.cli.cycle_commands` or
:mod:`~engine.cli.daemon_commands` that returns an exit code (None: ``EXIT_OK``) or raises
from the :mod:`engine.errors` tree; it prints only through :mod:`engine.cli.output`. Only
typer is imported at module level: heavy libraries are imported inside the commands, so
``ratchet --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Collection, Sequence
from typing import Any, NoReturn

import typer

from engine.cli import (
    audit_commands,
    cycle_commands,
    daemon_commands,
    fleet_commands,
    output,
    report_commands,
    review_commands,
)
from engine.cli.exits import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_FLEET_INVALID,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_TERMINATED,
)
from engine.cli.signals import Terminated
from engine.errors import ConfigError, DaemonError, FleetFileError, InputError, RatchetError

# name -> command, in the order `ratchet --help` lists them.
COMMANDS: dict[str, Callable[..., int | None]] = {
    "init": cycle_commands.init,
    "check": cycle_commands.check,
    "run-once": cycle_commands.run_once,
    "log": cycle_commands.log,
    "revert": cycle_commands.revert,
    "retry": review_commands.retry,
    "report": report_commands.report,
    "demo": cycle_commands.demo,
    "audit": audit_commands.audit,
    "start": daemon_commands.start,
    "stop": daemon_commands.stop,
    "status": daemon_commands.status,
    "pause": daemon_commands.pause,
    "resume": daemon_commands.resume,
    "install-service": daemon_commands.install_service,
    "pin": daemon_commands.pin,
    "unpin": daemon_commands.unpin,
}

# ``ratchet review <name>``
REVIEW_COMMANDS: dict[str, Callable[..., int | None]] = {
    "list": review_commands.list_,
    "show": review_commands.show,
    "accept": review_commands.accept,
    "reject": review_commands.reject,
}

# ``ratchet fleet <name>``
FLEET_COMMANDS: dict[str, Callable[..., int | None]] = {
    "check": fleet_commands.check,
    "status": fleet_commands.status,
    "run-once": fleet_commands.run_once,
    "daemon": fleet_commands.daemon,
    "stop": fleet_commands.stop,
    "pause": fleet_commands.pause,
    "resume": fleet_commands.resume,
}


def _fail(message: str, code: int) -> NoReturn:
    output.error(message)
    raise typer.Exit(code)


def guard(fn: Callable[[], int | None]) -> NoReturn:
    """Run ``fn`` and exit with its code; map the error tree to exit codes in one place.

    FleetFileError -> EXIT_FLEET_INVALID and any other ConfigError -> EXIT_CONFIG (their
    FILE:LINE:COL lines as they are); InputError ->
    EXIT_CONFIG; DaemonError (a lock is held) -> EXIT_LOCKED; a SIGTERM during a run
    (:class:`engine.cli.signals.Terminated`) -> EXIT_TERMINATED; any other RatchetError or
    an unexpected exception (with its traceback) -> EXIT_ERROR. Every message goes to
    stderr, prefixed ``ratchet:``.
    """
    try:
        code = fn()
    except FleetFileError as exc:
        output.warn(str(exc))
        raise typer.Exit(EXIT_FLEET_INVALID) from exc
    except ConfigError as exc:
        output.warn(str(exc))
        raise typer.Exit(EXIT_CONFIG) from exc
    except InputError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except DaemonError as exc:
        _fail(str(exc), EXIT_LOCKED)
    except RatchetError as exc:
        _fail(str(exc), EXIT_ERROR)
    except Terminated as exc:
        _fail(f"stopped: {exc}; the attempt was archived", EXIT_TERMINATED)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # the CLI boundary: never a bare traceback without context
        output.print_traceback()
        _fail(f"internal error: {exc!r}", EXIT_ERROR)
    raise typer.Exit(EXIT_OK if code is None else code)


def guarded(command: Callable[..., int | None]) -> Callable[..., None]:
    """``command`` run through :func:`guard`, with its signature and help kept for typer."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        guard(lambda: command(*args, **kwargs))

    return run


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            output.echo(f"ratchet {version('ratchetd')}")
        except PackageNotFoundError:
            output.echo("ratchet (not installed: run from a source tree)")
        raise typer.Exit(EXIT_OK)


def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """ratchet: improves a git repository one small, verified change at a time."""


# ``ratchet <name> ...``: a group of subcommands, with its own table and help line
GROUPS: dict[str, tuple[dict[str, Callable[..., int | None]], str]] = {
    "review": (
        REVIEW_COMMANDS,
        "See, accept or reject the candidates kept for a human (`ratchet review list`).",
    ),
    "fleet": (
        FLEET_COMMANDS,
        "Steer many repositories from one fleet file (`ratchet fleet check`).",
    ),
}


def build_app(names: Collection[str] | None = None) -> typer.Typer:
    """The ``ratchet`` app with the commands and groups in ``names`` (all when None).

    Typer turns every registered command into a click command each time the app runs
    (~30 ms for the whole table), so :func:`main` builds the app with only the command the
    command line names: what that command does and prints is the same either way.
    """
    # rich_markup_mode=None: typer's rich help renders every flag as ``--json <bool>`` with
    # the click on this machine; click's plain help shows flags as flags.
    root = typer.Typer(
        add_completion=True,
        rich_markup_mode=None,
        no_args_is_help=True,
        help="ratchet: improves a git repository one small, verified change at a time.",
    )
    root.callback()(_options)
    for name, command in COMMANDS.items():
        if names is None or name in names:
            root.command(name)(guarded(command))
    for name, (table, help_) in GROUPS.items():
        if names is None or name in names:
            group = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help=help_)
            for sub, command in table.items():
                group.command(sub)(guarded(command))
            root.add_typer(group, name=name)
    return root


app = build_app()


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app to run for the command line ``args`` (without the program name): one built
    with only the command ``args[0]`` names, or the whole :data:`app` when ``args[0]``
    names none (``--help``, no arguments, a typo: those list or suggest every command)."""
    first = args[0] if args else ""
    return build_app({first}) if first in COMMANDS or first in GROUPS else app


def main() -> None:
    """The console script ``ratchet`` and ``python -m engine.cli``."""
    app_for(sys.argv[1:])()
