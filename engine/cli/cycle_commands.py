"""The cycle's commands: init, check, run-once, log, revert, demo.

Each returns an exit code (None: done) or raises from the :mod:`engine.errors` tree;
:func:`engine.cli.app.guard` turns both into the process's exit code. Heavy libraries are
imported inside the commands, so ``ratchet --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli import output
from engine.cli.signals import unwind_on_sigterm

RepoOpt = Annotated[Path, typer.Option("--repo", help="Repository to work on.")]


def _open(repo: Path) -> Any:
    from engine.vcs import Repository

    return Repository.open(repo)


def init(repo: RepoOpt = Path(".")) -> None:
    """Write goals.yaml, directives.yaml and rules/default.yaml where missing."""
    from engine.config.init import init_repo
    from engine.gate.testcmd import discover

    repository = _open(repo)
    found = discover(repository.root)
    lines = init_repo(
        repository.root,
        exclude_file=repository.info_exclude_path(),
        test_command_found=f"{found.command} ({found.reason})",
    )
    for line in lines:
        output.echo(line)


def check(
    repo: RepoOpt = Path("."),
    strict: Annotated[bool, typer.Option("--strict", help="Warnings are errors too.")] = False,
) -> None:
    """Validate goals.yaml, directives.yaml and rules/ (exit 2 with FILE:LINE:COL on error).

    Warnings (no goals, a scope matching no tracked file, an unconfigured provider, nothing
    scheduling the daemon) are listed on stderr and exit 0, unless --strict."""
    import os

    from engine.config.environment import check_repository
    from engine.errors import ConfigError

    repository = _open(repo)

    def tracked(branch: str | None) -> list[str] | None:
        target = branch or repository.current_branch() or "HEAD"
        return repository.ls_files(target) if repository.rev_parse(target) else None

    report = check_repository(repository.root, tracked=tracked, env=os.environ)
    if not strict:
        for warning in report.warnings:
            output.warn(warning.render())
    if report.errors or (strict and report.warnings) or report.config is None:
        raise ConfigError(list(report.errors) + (list(report.warnings) if strict else []))
    config = report.config
    note = f", {len(report.warnings)} warning(s)" if report.warnings else ""
    output.echo(f"ok: {len(config.goals)} goal(s), {len(config.rules)} rule(s){note}")
    from engine.gate.testcmd import resolve

    found = resolve(config.directives.test_command, repository.root)
    output.echo(f"test command: {found.command}  ({found.reason})")


def run_once(
    repo: RepoOpt = Path("."),
    goal: Annotated[str | None, typer.Option("--goal", help="Goal id to work on.")] = None,
    plan: Annotated[
        Path | None, typer.Option("--plan", help="Edit-plan file (YAML/JSON) to evaluate.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON object.")] = False,
) -> None:
    """Run exactly one improvement cycle."""
    unwind_on_sigterm()  # from here a SIGTERM unwinds the run (see engine.cli.signals)
    from engine.compose import run_one_cycle

    reports = run_one_cycle(repo, goal_id=goal, plan_file=plan)
    for report in reports:
        output.echo(output.render_report(report))
    if as_json:
        output.emit_json(reports[-1].to_json())


def log(
    repo: RepoOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    limit: Annotated[int, typer.Option(help="Show the last N cycles (0: all).")] = 0,
) -> None:
    """Every cycle: goal, outcome, the rules that failed and why, metric deltas."""
    from engine.records.history import format_entry, load_history

    entries = load_history(_open(repo))
    if limit:
        entries = entries[-limit:]
    if as_json:
        output.emit_json([e.to_json() for e in entries], indent=2)
    elif not entries:
        output.echo("no cycles yet: run `ratchet run-once`")
    else:
        output.echo("\n\n".join(format_entry(e) for e in entries))


def revert(
    commit: Annotated[str, typer.Argument(help="A merged ratchet commit to undo.")],
    repo: RepoOpt = Path("."),
) -> None:
    """Undo a merged change with a revert commit on the target branch.

    Your working tree is untouched unless the target is checked out and clean, which is
    then fast-forwarded."""
    from engine.config import load_directives
    from engine.errors import InputError

    repository = _open(repo)
    directives = load_directives(repository.root)
    target = directives.target_branch or repository.current_branch()
    if not target:
        raise InputError("HEAD is detached: set target_branch in directives.yaml")
    result = repository.revert(commit, target, author=directives.identity)
    output.echo(f"{result}")


def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Build the demo here instead of a temp dir.")
    ] = None,
) -> None:
    """Run real cycles on a bundled sample project (no API key): one merge, one rejection.

    The sample has real lint debt; the embedded ruff provider proposes the changes."""
    from engine.demo import run_demo

    run_demo(keep, echo=output.echo)
