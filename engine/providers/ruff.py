"""``RuffFixProvider``: the embedded default that needs no model.

It runs ruff's *safe* fixes (the goal's ``options.select``, e.g. ``["F401", "UP"]``)
and/or ``ruff format`` (``options.format: true``) over the goal's in-scope files,
through stdin/stdout so nothing on disk is written, and returns every changed file as
a ``rewrite`` edit. Ruff never executes the code it reads, so this runs on the host.

Options: ``select`` (list of rule codes), ``format`` (bool), ``max_files`` (int,
default 20: keep each change small enough to review).

Worst first: with ``select``, the in-scope files are ordered by how many of the selected
violations each holds (one read-only ``ruff check`` over them, most first, then by path),
so when ``max_files`` cuts the list the change goes where the debt is.

Ruff gets a minimal environment (:func:`ruff_environment`): ``PATH`` and the locale from
the parent, and ``HOME``/XDG directories inside a private temporary directory: no API key
or token of the parent reaches it, and a user-level ruff config or cache is not read, so
the fixes depend only on the repository's own ruff configuration.

An "unused" import in a public module is a re-export (``from pkg.mod import name`` works),
so F401 is not applied to public modules (``engine.gate.guards.api.is_public_module``)
unless the goal allows API changes (``allow: [api-change]``): the ``guard-api-change``
guard would send such a candidate to review anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine.errors import ProviderError
from engine.gate.guards.api import API_CHANGE, is_public_module
from engine.model import Edit, Proposal
from engine.providers.base import ProposalRequest


def ruff_binary() -> str:
    """The ruff executable shipped with the ``ruff`` wheel (falls back to PATH)."""
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return "ruff"


# What ruff may see of the parent's environment: where programs are, and the locale.
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE")


def ruff_environment(parent: Mapping[str, str], home: Path) -> dict[str, str]:
    """The whole environment of a ruff child: :data:`PASSED_THROUGH` from ``parent`` (LANG
    defaults to C.UTF-8), ``HOME`` = ``home`` and the XDG cache/config directories under it,
    and ruff's cache off. Nothing else of ``parent`` (no keys, tokens or RUFF_* settings)."""
    env = {name: parent[name] for name in PASSED_THROUGH if name in parent}
    env.setdefault("LANG", "C.UTF-8")
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        RUFF_NO_CACHE="true",
    )
    return env


class RuffFixProvider:
    name = "ruff"
    needs_model = False

    def __init__(self, *, timeout: float = 60.0, binary: str | None = None) -> None:
        """``binary``: the ruff executable (default: the ruff wheel's, else ``ruff`` on PATH)."""
        self._timeout = timeout
        self._binary = binary

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
        with tempfile.TemporaryDirectory(prefix="ratchet-ruff-") as home:
            env = ruff_environment(os.environ, Path(home))
            edits = self._fix(request, select, do_format, max_files, env)
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

    def _fix(
        self,
        request: ProposalRequest,
        select: tuple[str, ...],
        do_format: bool,
        max_files: int,
        env: dict[str, str],
    ) -> list[Edit]:
        keep_reexports = not API_CHANGE.allowed_by(request.goal.allow)
        edits: list[Edit] = []
        files = sorted(f for f in request.files if f.endswith(".py"))
        if select and len(files) > max_files:
            files = self.worst_first(files, select, request.root, env)
        for rel in files:
            if len(edits) >= max_files:
                break
            path = request.root / rel
            try:
                old = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            new = old
            if select:
                fix = ["check", "--fix-only", "--exit-zero", "--select", ",".join(select)]
                if keep_reexports and is_public_module(rel):
                    fix += ["--ignore", "F401"]  # re-exports: see the module docstring
                new = self._run(fix, rel, new, request.root, env)
            if do_format:
                new = self._run(["format"], rel, new, request.root, env)
            if new != old:
                edits.append(Edit(file=rel, op="rewrite", code=new))
        return edits

    def worst_first(
        self, files: Sequence[str], select: Sequence[str], root: Path, env: dict[str, str]
    ) -> list[str]:
        """``files`` ordered by their count of ``select`` violations, most first (ties and
        files ruff cannot read: by path). One ``ruff check`` that reads, never writes."""
        args = ["check", "--exit-zero", "--no-fix", "--output-format", "json"]
        args += ["--select", ",".join(select), "--", *files]
        try:
            found = json.loads(self._ruff(args, root, env).stdout or "[]")
        except (OSError, subprocess.TimeoutExpired, ValueError):
            return sorted(files)  # no ranking: the fixes themselves still run per file
        return rank_by_debt(files, found, root)

    def _ruff(
        self, args: Sequence[str], cwd: Path, env: dict[str, str], text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``ruff ARGS`` (``text`` on stdin), within the provider's timeout."""
        return subprocess.run(
            [self._binary or ruff_binary(), *args],
            input=text,
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=self._timeout,
            check=False,
        )

    def _run(self, args: Sequence[str], rel: str, text: str, cwd: Path, env: dict[str, str]) -> str:
        try:
            done = self._ruff([*args, "--stdin-filename", rel, "-"], cwd, env, text)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProviderError(f"ruff could not run on {rel}: {exc}") from exc
        if done.returncode != 0:
            # A file ruff cannot parse is left alone: the goal is about fixable files.
            return text
        return done.stdout


def rank_by_debt(files: Sequence[str], findings: object, root: Path) -> list[str]:
    """``files`` by their number of ``findings`` (ruff's JSON list), most first, then path."""
    counts = dict.fromkeys(files, 0)
    base = root.resolve()
    for finding in findings if isinstance(findings, list) else []:
        name = finding.get("filename") if isinstance(finding, dict) else None
        if not isinstance(name, str):
            continue
        path = Path(name)
        if path.is_absolute():
            try:
                name = path.resolve().relative_to(base).as_posix()
            except ValueError:
                continue  # outside the worktree: not one of ``files``
        if name in counts:
            counts[name] += 1
    return sorted(files, key=lambda f: (-counts[f], f))


def _codes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(c.strip() for c in value.split(",") if c.strip())
    if isinstance(value, list | tuple):
        return tuple(str(c) for c in value)
    raise ProviderError(f"options.select must be a list of rule codes, got {value!r}")
