"""``RuffFixProvider``: the embedded default that needs no model.

It runs ruff's *safe* fixes (the goal's ``options.select``, e.g. ``["F401", "UP"]``)
and/or ``ruff format`` (``options.format: true``) over the goal's in-scope files,
through stdin/stdout so nothing on disk is written, and returns every changed file as
a ``rewrite`` edit. Ruff never executes the code it reads, so this runs on the host.

Options: ``select`` (list of rule codes), ``format`` (bool), ``max_files`` (int,
default 20: keep each change small enough to review).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from engine.errors import ProviderError
from engine.model import Edit, Proposal
from engine.providers.base import ProposalRequest


def ruff_binary() -> str:
    """The ruff executable shipped with the ``ruff`` wheel (falls back to PATH)."""
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return "ruff"


class RuffFixProvider:
    name = "ruff"
    needs_model = False

    def __init__(self, *, timeout: float = 60.0) -> None:
        self._timeout = timeout

    def propose(self, request: ProposalRequest) -> Proposal:
        options = request.goal.options
        select = _codes(options.get("select", ()))
        do_format = bool(options.get("format", False))
        if not select and not do_format:
            raise ProviderError(
                f"goal {request.goal.id!r}: the ruff provider needs options.select "
                "(rule codes) and/or options.format: true"
            )
        max_files = int(options.get("max_files", 20))
        edits: list[Edit] = []
        for rel in sorted(f for f in request.files if f.endswith(".py")):
            if len(edits) >= max_files:
                break
            path = request.root / rel
            try:
                old = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            new = old
            if select:
                new = self._run(
                    ["check", "--fix-only", "--exit-zero", "--select", ",".join(select)],
                    rel,
                    new,
                    request.root,
                )
            if do_format:
                new = self._run(["format"], rel, new, request.root)
            if new != old:
                edits.append(Edit(file=rel, op="rewrite", code=new))
        what = " and ".join(
            p
            for p in (f"fix {', '.join(select)}" if select else "", "format" if do_format else "")
            if p
        )
        files = ", ".join(e.file for e in edits[:3]) + (" ..." if len(edits) > 3 else "")
        return Proposal(
            summary=f"ruff: {what} in {len(edits)} file(s)"
            if edits
            else f"ruff: nothing to {what}",
            rationale=f"Deterministic safe fixes by ruff ({what}) in: {files}." if edits else "",
            edits=tuple(edits),
            provider=self.name,
            model="ruff",
        )

    def _run(self, args: Sequence[str], rel: str, text: str, cwd: Path) -> str:
        cmd = [ruff_binary(), *args, "--stdin-filename", rel, "-"]
        try:
            done = subprocess.run(
                cmd,
                input=text,
                capture_output=True,
                text=True,
                cwd=cwd,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProviderError(f"ruff could not run on {rel}: {exc}") from exc
        if done.returncode != 0:
            # A file ruff cannot parse is left alone: the goal is about fixable files.
            return text
        return done.stdout


def _codes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(c.strip() for c in value.split(",") if c.strip())
    if isinstance(value, list | tuple):
        return tuple(str(c) for c in value)
    raise ProviderError(f"options.select must be a list of rule codes, got {value!r}")
