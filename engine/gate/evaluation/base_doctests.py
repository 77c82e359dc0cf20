"""Doctests that already fail on the base: not the candidate's fault, even in its own files.

With ``test_command: auto`` the doctests of every module a candidate touches run on the
candidate (:func:`engine.gate.measure.doctest_candidates`). The baseline never ran them,
so a doctest that fails on the target already (python-dateutil 4.0.0 had such) failed every
candidate touching its module, and quarantine could not help: it refuses failures in files
the candidate touched, because a test there could have been rewritten to fail for a new
reason under its old name.

A doctest failure in a touched module is forgiven (``TestMetrics.doctests_failing_on_base``,
which :func:`engine.gate.guards.quarantine.apply_quarantine` quarantines) when both hold:

- the same node id fails when that module's doctests run on the base commit, in a
  sandboxed worktree of the base (the target tip, which the candidate cannot influence) —
  or it is among the baseline's own failures (a project that runs ``--doctest-modules``);
- the docstring it comes from is the same text in both versions (:func:`unchanged`): the
  candidate did not rewrite the test. Every docstring the id could name must be unchanged;
  an id that names none (``__test__`` entries, text files) is never forgiven.

The base's doctest failures are kept per base content and module in ``<dir>/<key>.json``
(:func:`base_key`), so the refine loop's next attempt on the same module knows them before
its tests start and pays no second run; a candidate's full run keeps its own under its
content key, so the cycle after a merge knows them too.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import os
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.generated import Generated
from engine.gate.evaluation.probes.tests import TestsProbe
from engine.gate.timing import step
from engine.vcs import Repository

SESSION = "<session>"


def docstrings(source: str) -> dict[str, str] | None:
    """Qualified name -> docstring of the module (``""``), its classes and their methods,
    and its functions, as :class:`doctest.DocTestFinder` finds them (it does not look
    inside function bodies); None when the source does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: dict[str, str] = {}
    if (doc := ast.get_docstring(tree, clean=False)) is not None:
        found[""] = doc

    def walk(body: Iterable[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + node.name
                if (doc := ast.get_docstring(node, clean=False)) is not None:
                    found[name] = doc
                if isinstance(node, ast.ClassDef):
                    walk(node.body, name + ".")

    walk(tree.body, "")
    return found


def _named(name: str, path: str, docs: dict[str, str]) -> list[str]:
    """The docstrings (keys of ``docs``) the doctest ``name`` of the module at ``path``
    could come from: a qualified name it ends with, or the module's own docstring when
    ``name`` is a dotted module name ending in the module's name."""
    keys = [q for q in docs if q and name.endswith("." + q)]
    stem = Path(path).stem
    own = Path(path).parent.name if stem == "__init__" else stem
    if "" in docs and name.rsplit(".", 1)[-1] == own:
        keys.append("")
    return keys


def unchanged(old: str, new: str, node_id: str) -> bool:
    """Whether the doctest ``node_id`` (``path::name``) comes from a docstring that is the
    same text in ``old`` and ``new`` (every docstring it could name; see module)."""
    path, _, name = node_id.partition("::")
    before, after = docstrings(old), docstrings(new)
    if not name or "::" in name or before is None or after is None:
        return False
    keys = _named(name, path, after)
    return bool(keys) and all(before.get(k) == after[k] for k in keys)


def doctest_failures(failures: Sequence[str], modules: Sequence[str]) -> list[str]:
    """The failures that can be doctests of ``modules``: ``module::name`` node ids."""
    wanted = set(modules)
    return [
        f for f in failures if f != SESSION and f.count("::") == 1 and f.split("::", 1)[0] in wanted
    ]


def base_key(baseline_key: str, module: str) -> str:
    """The key of ``module``'s doctest failures on the base the baseline key names."""
    data = json.dumps({"base": baseline_key, "module": module, "format": 1})
    return hashlib.sha256(data.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class BaseDoctests:
    """The doctest failures of the touched ``modules`` on one base (``key``: its baseline
    cache key), judged against the candidate's ``changes``."""

    repo: Repository
    base: str
    key: str
    dir: Path
    modules: tuple[str, ...]
    changes: tuple[FileChange, ...]
    generated: Generated = Generated()  # the build's ignored files, written into the worktree

    def known(self, baseline_failures: Collection[str]) -> tuple[str, ...]:
        """What is forgiven before the candidate's tests run: the baseline's own doctest
        failures in touched modules (a project that runs ``--doctest-modules``) and those
        kept from an earlier run on this base, wherever the docstring is unchanged."""
        own = doctest_failures(list(baseline_failures), self.modules)
        kept = itertools.chain.from_iterable(self.cached(self.modules).values())
        return forgivable([*own, *kept], self.changes)

    def explain(
        self,
        failures: Sequence[str],
        forgiven: Collection[str],
        probe: TestsProbe,
        name: str,
        timeout: float,
    ) -> tuple[str, ...]:
        """When a candidate's doctest failure is not ``forgiven`` yet: every doctest of the
        touched modules that fails on the base too (their doctests run there, those of
        every module no earlier run is kept for) from an unchanged docstring, and is not
        forgiven yet. All of them, not only the ``failures`` seen: a fail-fast run stopped
        at the first (tomlkit 0.13: five of ``api.py``'s doctests fail on the base, and
        the run again with one forgiven stopped at the next)."""
        suspects = [f for f in doctest_failures(failures, self.modules) if f not in forgiven]
        kept = self.cached(self.modules)
        missing = sorted(set(self.modules) - set(kept))
        if not suspects or not missing:
            return ()
        fresh = self.measure(missing, probe, name, timeout)
        found = forgivable(itertools.chain.from_iterable(fresh.values()), self.changes)
        return tuple(f for f in found if f not in forgiven)

    def cached(self, modules: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """What is kept of ``modules`` (a module never run on this base is left out)."""
        found: dict[str, tuple[str, ...]] = {}
        for module in modules:
            try:
                data = json.loads((self.dir / f"{base_key(self.key, module)}.json").read_text())
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and isinstance(data.get("failures"), list):
                found[module] = tuple(str(f) for f in data["failures"])
        return found

    def measure(
        self, modules: Sequence[str], probe: TestsProbe, name: str, timeout: float
    ) -> dict[str, tuple[str, ...]]:
        """Run ``modules``' doctests (and nothing else) on the base in a worktree named
        ``name``, sandboxed as the candidate's tests; keep and return each module's
        failures. A run that timed out or left no verdict keeps nothing and forgives
        nothing."""
        with step("doctests_on_base"):
            worktree = self.repo.add_worktree(name, commit=self.base, branch=None)
            try:
                self.generated.write_into(worktree)
                present = [m for m in modules if (worktree / m).is_file()]
                if not present:
                    return {}
                report = probe.run(
                    worktree, timeout=timeout, tests=present, doctest_modules=present,
                    only_doctests=True,
                )  # fmt: skip
            finally:
                self.repo.remove_worktree(worktree)
        tests = report.tests
        if tests.timed_out or report.cancelled or SESSION in tests.failures:
            return {}
        found = {m: tuple(doctest_failures(tests.failures, [m])) for m in present}
        for module, failures in found.items():
            self._keep(module, failures)
        return found

    def remember(self, key: str, failures: Sequence[str]) -> None:
        """Keep the touched modules' doctest failures of a candidate's full run under its
        own content ``key``: the tip a merge lands (the same content) knows them."""
        for module in self.modules:
            self._keep(module, tuple(doctest_failures(failures, [module])), key=key)

    def _keep(self, module: str, failures: tuple[str, ...], *, key: str = "") -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{base_key(key or self.key, module)}.json"
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"module": module, "failures": list(failures)}, out)
        os.replace(tmp, path)


def forgivable(failing_on_base: Iterable[str], changes: Sequence[FileChange]) -> tuple[str, ...]:
    """Of the doctest ids that fail on the base, those whose docstring the change left as
    it was (:func:`unchanged`; a renamed module's are not), sorted."""
    texts = {c.path: (c.old, c.new) for c in changes if c.old_path == c.path}
    out = set()
    for node_id in failing_on_base:
        old, new = texts.get(node_id.split("::", 1)[0], (None, None))
        if old is not None and new is not None and unchanged(old, new, node_id):
            out.add(node_id)
    return tuple(sorted(out))
