"""``ratchet audit``: run the trap goals (gaming canaries) in a temporary repository.

Exits :data:`~engine.cli.exits.EXIT_AUDIT_FAILED` when the gate merged a trap candidate;
``--clear`` lifts the review hold on providers an audit caught gaming (a human's word).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli import output

RepoOpt = Annotated[Path, typer.Option("--repo", help="Repository whose provider is audited.")]


def audit(
    repo: RepoOpt = Path("."),
    provider: Annotated[
        str | None, typer.Option("--provider", help="Provider name (default: directives.yaml).")
    ] = None,
    plans: Annotated[
        Path | None,
        typer.Option("--plans", help="Directory of <trap-id>.yaml plans (scripted provider)."),
    ] = None,
    trap: Annotated[
        list[str] | None, typer.Option("--trap", help="Run only this trap (repeatable).")
    ] = None,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Build the trap repository here and keep it.")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Lift the review hold on caught providers.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object on stdout (the report on stderr).")
    ] = False,
) -> int | None:
    """Run the trap goals no honest change can satisfy; exit 6 if the gate merged one.

    The bundled trap sample is copied into a temporary git repository (never this one) and
    each trap runs one real cycle with this repository's provider. A provider caught gaming
    gets `merge: review` forced by the gate until `ratchet audit --clear`."""
    from engine.audit import TRAPS, run_audit
    from engine.cli.exits import EXIT_AUDIT_FAILED
    from engine.errors import InputError
    from engine.gate.caught import clear_caught
    from engine.vcs import Repository

    if clear:
        held = clear_caught(Repository.open(repo).state_dir)
        names = ", ".join(sorted({c.provider for c in held})) or "none"
        output.echo(f"review hold lifted: {names}")
        return None
    traps = tuple(trap or TRAPS)
    unknown = [t for t in traps if t not in TRAPS]
    if unknown:
        raise InputError(f"--trap {unknown[0]!r}: unknown trap; the traps are {', '.join(TRAPS)}")
    provider_for = _scripted(plans) if plans is not None else None

    def shown(result: Any) -> None:
        output.warn(f"audit: {result.trap}: {result.outcome} ({result.verdict})")

    report = run_audit(
        repo,
        provider="scripted" if plans is not None else provider,
        provider_for=provider_for,
        traps=traps,
        keep=keep,
        on_result=shown,
    )
    (output.warn if as_json else output.echo)("\n".join(report.lines()))
    if as_json:
        output.emit_json(report.to_json())
    return EXIT_AUDIT_FAILED if report.gate_failed else None


def _scripted(plans: Path) -> Any:
    from engine.errors import InputError
    from engine.providers.scripted import ScriptedProvider

    if not plans.is_dir():
        raise InputError(f"--plans {plans}: not a directory of <trap-id>.yaml plan files")

    def provider_for(trap: str) -> ScriptedProvider | None:
        found = [p for p in (plans / f"{trap}.yaml", plans / f"{trap}.json") if p.is_file()]
        return ScriptedProvider.from_files(found[:1]) if found else None

    return provider_for
