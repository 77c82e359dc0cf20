"""The ``ratchet`` command: the only module that prints, and (with the daemon) the only
one that chooses concrete adapters.

Exit codes: 0 done (whatever the cycle's outcome), 1 internal or environment error,
2 bad configuration or input, 3 another cycle or daemon holds the repository's lock.
Heavy libraries are imported inside the commands so ``ratchet --help`` stays fast.
"""

from __future__ import annotations

import json
import signal
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from engine.errors import ConfigError, DaemonError, InputError, RatchetError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="ratchet: improves a git repository one small, verified change at a time.",
)

RepoOpt = Annotated[Path, typer.Option("--repo", help="Repository to work on.")]
EXIT_CONFIG = 2
EXIT_LOCKED = 3


class Terminated(Exception):
    """Raised from the SIGTERM handler so every ``finally`` cleans up."""


def _raise_terminated(signum: int, frame: Any) -> NoReturn:
    raise Terminated(f"received signal {signum}")


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"ratchet: {message}", err=True)
    raise typer.Exit(code)


def _guard(fn: Callable[[], int | None]) -> None:
    """Map the error hierarchy to exit codes in one place."""
    try:
        code = fn()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_CONFIG) from exc
    except InputError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except DaemonError as exc:
        _fail(str(exc), EXIT_LOCKED)
    except RatchetError as exc:
        _fail(str(exc), 1)
    except Terminated as exc:
        _fail(f"stopped: {exc}", 1)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:  # the CLI boundary: never a bare traceback without context
        traceback.print_exc()
        _fail(f"internal error: {exc!r}", 1)
    raise typer.Exit(code or 0)


def _open(repo: Path) -> Any:
    from engine.vcs import Repository

    return Repository.open(repo)


@app.command()
def init(repo: RepoOpt = Path(".")) -> None:
    """Write goals.yaml, directives.yaml and rules/default.yaml where missing."""

    def go() -> int:
        from engine.config.init import init_repo

        repository = _open(repo)
        for line in init_repo(repository.root, exclude_file=repository.info_exclude_path()):
            typer.echo(line)
        return 0

    _guard(go)


@app.command()
def check(
    repo: RepoOpt = Path("."),
    strict: Annotated[bool, typer.Option("--strict", help="Warnings are errors too.")] = False,
) -> None:
    """Validate goals.yaml, directives.yaml and rules/ (exit 2 with FILE:LINE:COL on error).

    Warnings (no goals, a scope matching no tracked file, an unconfigured provider, nothing
    scheduling the daemon) are listed on stderr and exit 0, unless --strict."""

    def go() -> int:
        import os

        from engine.config.environment import check_repository

        repository = _open(repo)

        def tracked(branch: str | None) -> list[str] | None:
            target = branch or repository.current_branch() or "HEAD"
            return repository.ls_files(target) if repository.rev_parse(target) else None

        report = check_repository(repository.root, tracked=tracked, env=os.environ)
        if not strict:
            for warning in report.warnings:
                typer.echo(warning.render(), err=True)
        if report.errors or (strict and report.warnings) or report.config is None:
            raise ConfigError(list(report.errors) + (list(report.warnings) if strict else []))
        config = report.config
        note = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        typer.echo(f"ok: {len(config.goals)} goal(s), {len(config.rules)} rule(s){note}")
        return 0

    _guard(go)


@app.command("run-once")
def run_once(
    repo: RepoOpt = Path("."),
    goal: Annotated[str | None, typer.Option("--goal", help="Goal id to work on.")] = None,
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Edit-plan file (YAML/JSON) to evaluate.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON object.")] = False,
) -> None:
    """Run exactly one improvement cycle."""

    def go() -> int:
        from engine.compose import run_one_cycle

        signal.signal(signal.SIGTERM, _raise_terminated)
        reports = run_one_cycle(repo, goal_id=goal, plan_file=plan)
        from engine.cli.output import render_report

        for report in reports:
            typer.echo(render_report(report))
        if as_json:
            typer.echo(json.dumps(reports[-1].to_json(), sort_keys=False))
        return 0

    _guard(go)


@app.command()
def log(
    repo: RepoOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    limit: Annotated[int, typer.Option(help="Show the last N cycles (0: all).")] = 0,
) -> None:
    """Every cycle: goal, outcome, the rules that failed and why, metric deltas."""

    def go() -> int:
        from engine.records.history import load_history
        from engine.records.journal import format_entry

        entries = load_history(_open(repo))
        if limit:
            entries = entries[-limit:]
        if as_json:
            typer.echo(json.dumps(entries, indent=2))
        elif not entries:
            typer.echo("no cycles yet: run `ratchet run-once`")
        else:
            typer.echo("\n\n".join(format_entry(e) for e in entries))
        return 0

    _guard(go)


@app.command()
def revert(
    commit: Annotated[str, typer.Argument(help="A merged ratchet commit to undo.")],
    repo: RepoOpt = Path("."),
) -> None:
    """Undo a merged change with a revert commit on the target branch.

    Your working tree is untouched unless the target is checked out and clean, which is
    then fast-forwarded."""

    def go() -> int:
        from engine.config import load_directives

        repository = _open(repo)
        directives = load_directives(repository.root)
        target = directives.target_branch or repository.current_branch()
        if not target:
            raise InputError("HEAD is detached: set target_branch in directives.yaml")
        result = repository.revert(commit, target, author=directives.identity)
        typer.echo(f"{result}")
        return 0

    _guard(go)


@app.command()
def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Build the demo here instead of a temp dir.")
    ] = None,
) -> None:
    """Run real cycles on a bundled sample project (no API key): one merge, one rejection.

    The sample has real lint debt; the embedded ruff provider proposes the changes."""

    def go() -> int:
        from engine.demo import run_demo

        return run_demo(keep, echo=typer.echo)

    _guard(go)


def _register_daemon() -> None:
    from engine.cli.daemon_commands import register  # keeps its heavy imports inside commands

    register(app)


_register_daemon()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
