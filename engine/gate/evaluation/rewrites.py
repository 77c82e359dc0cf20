"""pytest's assert-rewritten test modules, made once on the host and kept by content.

Every sandboxed pytest run works in a fresh scratch copy with ``PYTHONDONTWRITEBYTECODE``,
so pytest rewrites the asserts of every test module and conftest it imports in every run
(a user's own run reads them back from ``__pycache__``). That is pure Python and costs:
0.95 s of marshmallow 4.4's 2.2 s suite (10k lines of tests), paid again by the untraced
run, the traced run, the behaviour recording, every re-run and every baseline.

:meth:`RewriteCache.prime` writes into a scratch copy, before its run, the pyc pytest would
have written itself for each ``test_*.py``, ``*_test.py`` and ``conftest.py``: pytest's own
rewriter run on the host (the source is parsed and transformed, never executed: like the
syntax check), compiled, and kept under the state directory by source digest, Python cache
tag and pytest version; the header pytest checks (``_read_pyc``: magic, source mtime and
size) is taken from the copy's file, and the code's file names are the copy's paths. pytest
loads it as its own, so the run imports the same code it would have made.

Safety: the cache is written by the host only and never bound writable into a sandbox. A
run that rewrites a primed pyc in its copy changes only that copy, which is thrown away
(and the change is reported like any other: ``TestMetrics.tampered``).

Not primed (pytest then rewrites as usual): a project whose configuration mentions
``enable_assertion_pass_hook`` (the rewrite depends on it), a file whose rewrite warns (a
``filterwarnings = error`` project would see that warning fail its collection), a file that
does not parse, and files pytest would not rewrite (``python_files`` set otherwise: they
are never read). A cache that cannot be written costs only the speed-up.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import marshal
import os
import sys
import types
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from engine.gate.evaluation.scratch import scratch_copy

# pytest's default norecursedirs, and the caches and environments nothing imports tests from
_SKIP_DIRS = frozenset({"__pycache__", "build", "dist", "node_modules", "venv", "CVS", "_darcs"})
_CONFIGS = (
    "pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini",
    "setup.cfg",
)  # fmt: skip
_PASS_HOOK = b"enable_assertion_pass_hook"


@dataclass(frozen=True)
class RewriteCache:
    """Rewritten test modules under ``root`` (host-only; created on first use)."""

    root: Path

    def prime(self, work: Path) -> int:
        """Write the rewritten pyc of every test module and conftest under ``work`` (a
        scratch copy about to run); returns how many were written."""
        version = _pytest_version()
        if version is None or _pass_hook(work):
            return 0
        tag = f"{sys.implementation.cache_tag}-pytest-{version}"
        written = 0
        for directory, dirnames, filenames in os.walk(work):
            dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
            for name in filenames:
                if _rewritten_by_pytest(name) and self._prime_one(Path(directory) / name, tag):
                    written += 1
        return written

    def _prime_one(self, path: Path, tag: str) -> bool:
        try:
            if path.is_symlink():
                return False
            source = path.read_bytes()
            info = path.stat()
        except OSError:
            return False
        code = self._code(source, path, tag)
        if code is None:
            return False
        _fix_filenames(code, str(path))
        header = importlib.util.MAGIC_NUMBER + b"\x00\x00\x00\x00"
        header += (int(info.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        header += (info.st_size & 0xFFFFFFFF).to_bytes(4, "little")
        pyc = path.parent / "__pycache__" / f"{path.name[:-3]}.{tag}.pyc"
        try:
            pyc.parent.mkdir(exist_ok=True)
            pyc.write_bytes(header + marshal.dumps(code))
        except OSError:
            return False
        return True

    def _code(self, source: bytes, path: Path, tag: str) -> types.CodeType | None:
        """The rewritten code of ``source``: from the cache, else made and kept."""
        digest = hashlib.sha256(source).hexdigest()
        entry = self.root / tag / digest[:2] / digest
        try:
            code = marshal.loads(entry.read_bytes())  # noqa: S302 - written by this host only
            return code if isinstance(code, types.CodeType) else None
        except (OSError, ValueError, EOFError, TypeError):
            pass
        made = _rewrite(source, path)
        if made is None:
            return None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            part = entry.with_name(f"{digest}.{os.getpid()}.part")
            part.write_bytes(marshal.dumps(made))
            os.replace(part, entry)
        except OSError:
            pass
        return made


def primed_copy(checkout: Path, dest: Path, rewrites: RewriteCache | None) -> Path:
    """A scratch copy of ``checkout`` at ``dest`` for a pytest run, its test modules'
    rewritten pycs primed from ``rewrites`` (None: a plain copy)."""
    work = scratch_copy(checkout, dest)
    if rewrites is not None:
        rewrites.prime(work)
    return work


def _rewrite(source: bytes, path: Path) -> types.CodeType | None:
    """pytest's ``_rewrite_test`` on ``source``, or None when it fails or warns."""
    import ast

    from _pytest.assertion.rewrite import rewrite_asserts

    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            tree = ast.parse(source, filename=str(path))
            rewrite_asserts(tree, source, str(path), None)
            code = compile(tree, str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    return None if said else code


def _fix_filenames(code: types.CodeType, path: str) -> None:
    """Point ``code`` and its nested code objects at ``path`` (what importlib does to a
    pyc made elsewhere), so tracebacks and tracers name the copy's file."""
    import _imp

    _imp._fix_co_filename(code, path)  # type: ignore[attr-defined]


def _rewritten_by_pytest(name: str) -> bool:
    """pytest's default ``python_files`` (``test_*.py``, ``*_test.py``) and conftests."""
    if not name.endswith(".py"):
        return False
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")


def _pass_hook(work: Path) -> bool:
    for name in _CONFIGS:
        try:
            if _PASS_HOOK in (work / name).read_bytes():
                return True
        except OSError:
            continue
    return False


@functools.cache
def _pytest_version() -> str | None:
    try:
        return metadata.version("pytest")
    except metadata.PackageNotFoundError:
        return None
