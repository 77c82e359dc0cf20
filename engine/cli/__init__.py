"""The ``ratchet`` command line: the only package that prints, and (with the daemon) the
only one that chooses concrete adapters.

- :mod:`~engine.cli.app`: the typer app, the command table, errors -> exit codes;
- :mod:`~engine.cli.cycle_commands`: init, check, run-once, log, revert, demo;
- :mod:`~engine.cli.daemon_commands`: start, stop, status, pause, resume, pin, ...;
- :mod:`~engine.cli.output`: the output layer (all printing);
- :mod:`~engine.cli.exits`: every exit code.

Importing this package is cheap (typer is imported only when the app is built), so the
daemon can read :mod:`engine.cli.exits` without loading the CLI.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """The console script ``ratchet`` (``engine.cli:main``)."""
    from engine.cli.signals import install_early

    install_early()  # before the app and its libraries are imported: see engine.cli.signals
    from engine.cli.app import main as run
    from engine.cli.quickexit import exit_now

    try:
        run()
    except SystemExit as done:  # typer ends every command with one
        exit_now(done.code)
        raise
    exit_now(0)


def __getattr__(name: str) -> Any:
    if name == "app":  # ``from engine.cli import app`` (typer's CliRunner, docs)
        from engine.cli.app import app

        return app
    raise AttributeError(f"module 'engine.cli' has no attribute {name!r}")
