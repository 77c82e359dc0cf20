"""``ratchet report``: the static HTML report of what ratchet did (:mod:`engine.report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli import output

RepoOpt = Annotated[Path, typer.Option("--repo", help="Repository to work on.")]


def report(
    repo: RepoOpt = Path("."),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory (default: .ratchet/report)."),
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open the report in the default browser.")
    ] = False,
) -> None:
    """Write a static HTML report (no server): per goal, metrics over time, acceptance
    rate, rejection reasons, time per step, model spend, candidates with their diffs."""
    from engine.records.layout import report_dir
    from engine.records.timeline import history_target
    from engine.report.build import write_report
    from engine.vcs import Repository

    repository = Repository.open(repo)
    target = history_target(repository)
    dest = (out or report_dir(repository.state_dir)).expanduser().resolve()
    if out is None:
        repository.ensure_excluded()  # .ratchet/ never shows up in the user's git status
    written = write_report(repository, target, dest)
    if written.cycles:
        output.echo(
            f"report: {written.index} ({len(written.goals)} goal(s), {written.cycles} "
            f"recorded entries, {written.diffs} diff(s))"
        )
    else:
        output.echo(f"report: {written.index} (no cycles recorded yet)")
    if open_:
        import webbrowser

        if not webbrowser.open(written.index.as_uri()):
            output.warn(f"no browser found: open {written.index.as_uri()} yourself")
