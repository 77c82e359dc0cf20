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
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress lines on stderr (results only).")
]


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
    from engine.checking import check_report
    from engine.errors import ConfigError

    repository = _open(repo)
    report = check_report(repository)
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
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object on stdout (the report on stderr).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=64, help="Evaluate up to N goals' candidates at once."
        ),
    ] = 1,
    quiet: QuietOpt = False,
) -> int | None:
    """Run exactly one improvement cycle (with --workers N, up to N goals at once).

    Progress goes to stderr: a live line on a terminal (goal, step, elapsed), else one line
    per step; --quiet silences it. --json includes per-step timings (seconds).
    Exits 4 when the cycle's outcome is `error` or `budget` (so cron/CI notice), else 0."""
    unwind_on_sigterm()  # from here a SIGTERM unwinds the run (see engine.cli.signals)
    from engine.cli.exits import EXIT_CYCLE_FAILED
    from engine.cli.progress import cycle_progress
    from engine.compose import run_one_cycle
    from engine.cycle.workers import headline

    with cycle_progress(quiet=quiet) as progress:
        reports = run_one_cycle(
            repo, goal_id=goal, plan_file=plan, workers=workers, on_step=progress
        )
    say = output.warn if as_json else output.echo  # with --json, stdout is the JSON alone
    for report in reports:
        say(output.render_report(report))
    outcome = headline(reports) if workers > 1 else reports[-1]
    if as_json:
        output.emit_json(outcome.to_json())
    return EXIT_CYCLE_FAILED if outcome.outcome in ("error", "budget") else None


def _since(text: str | None) -> Any:
    """``--since``: an ISO date/time, or an age like ``90m``, ``12h``, ``7d``."""
    from datetime import UTC, datetime, timedelta

    from engine.errors import InputError

    if not text:
        return None
    units = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            f"--since {text!r}: give an ISO date (2026-12-01, 2026-12-01T10:00) or an age "
            "like 90m, 12h, 7d"
        ) from exc
    return value if value.tzinfo else value.astimezone()


def log(
    repo: RepoOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    limit: Annotated[int, typer.Option(help="Show the last N entries (0: all).")] = 0,
    goal: Annotated[str | None, typer.Option("--goal", help="Only this goal.")] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome", help="Only this outcome (merged, rejected, review, reverted...)."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only since then: ISO date or 90m/12h/7d.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Every rule with its values, notes.")
    ] = False,
) -> None:
    """Every cycle and human decision: goal, outcome, the cause, metric deltas.

    Repeated nothing-to-do entries are shown once with a count."""
    from engine.records.evidence import complete_history
    from engine.records.logview import collapse, format_entry, select
    from engine.records.timeline import full_history, history_target

    repository = _open(repo)
    target = history_target(repository)
    entries = full_history(repository, target)
    chosen = select(entries, goal=goal, outcome=outcome, since=_since(since))
    # the rules' values and full metrics are in the git notes: read only those shown
    if as_json:
        chosen = chosen[-limit:] if limit > 0 else chosen
        output.emit_json(complete_history(repository, chosen), indent=2)
        return
    shown = collapse(chosen)
    shown = shown[-limit:] if limit > 0 else shown
    if verbose:
        shown = complete_history(repository, shown)
    if not shown:
        output.echo("no cycles match" if entries else "no cycles yet: run `ratchet run-once`")
    else:
        output.echo("\n\n".join(format_entry(e, verbose=verbose) for e in shown))


def revert(
    commit: Annotated[str, typer.Argument(help="A merged ratchet commit to undo.")],
    repo: RepoOpt = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Also revert a commit ratchet did not make.")
    ] = False,
) -> int | None:
    """Undo a merged change with a revert commit on the target branch (trailers + record).

    Only ratchet's own commits unless --force. Your working tree is untouched unless the
    target is checked out and clean, which is then fast-forwarded. Exits 5 when the target
    could not be moved (the message says what to do)."""
    from datetime import UTC, datetime

    from engine.cli.exits import EXIT_NOT_APPLIED
    from engine.config import load_directives
    from engine.errors import InputError, RevertConflict
    from engine.records.revert import plan_revert, revert_change

    repository = _open(repo)
    directives = load_directives(repository.root)
    target = directives.target_branch or repository.current_branch()
    if not target:
        raise InputError("HEAD is detached: set target_branch in directives.yaml")
    plan = plan_revert(repository, commit, directives.identity)
    if not plan.ours and not force:
        raise InputError(
            f"{commit} ({plan.subject!r}) is not a ratchet commit: it has no Ratchet-* "
            "trailers and was not made by ratchet's identity; undo your own commits with "
            "`git revert`, or pass --force"
        )
    at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        result = revert_change(repository, plan, target, directives.identity, at=at)
    except RevertConflict as exc:
        files = ", ".join(exc.files) or "some files"
        output.error(
            f"{plan.commit[:12]} cannot be reverted automatically: later commits changed "
            f"the same lines ({files}). Nothing was changed. Revert it by hand in your "
            f"checkout: git revert {plan.commit[:12]}"
        )
        return EXIT_NOT_APPLIED
    if not result.applied:
        why = result.ff.detail or result.ff.kind
        output.error(
            f"made revert commit {result.commit[:12]}, but {target} was not moved ({why}). "
            f"Commit or stash your changes on {target}, then run "
            f"`git merge --ff-only {result.commit[:12]}` there (or run `ratchet revert` again)"
        )
        return EXIT_NOT_APPLIED
    output.echo(f"reverted {plan.commit[:12]} on {target}: {result.commit[:12]}")
    return None


def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Build the demo here instead of a temp dir.")
    ] = None,
) -> None:
    """Run real cycles on a bundled sample project (no API key): one merge, one rejection.

    The sample has real lint debt; the embedded ruff provider proposes the changes."""
    from engine.demo import run_demo

    run_demo(keep, echo=output.echo)
