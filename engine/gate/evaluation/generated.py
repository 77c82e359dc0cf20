"""Files the project's build writes into its source tree and git ignores, carried into
every checkout ratchet measures.

A version file written by setuptools-scm (``[tool.setuptools_scm] version_file`` or
``write_to``, or ``use_scm_version={"write_to": ...}`` in ``setup.py``) or hatch-vcs
(``[tool.hatch.build.hooks.vcs] version-file``, or under
``[tool.hatch.build.targets.<name>.hooks.vcs]``) or pdm-backend (``[tool.pdm.version]
write_to``, under the package directory: ``[tool.pdm.build] package-dir``, else ``src/``
when there is one, as pdm's editable build writes it) exists only where the project was built
(``pip install -e .``): a worktree of a commit lacks it, the package does not import and
every test errors (humanize 4.17.0: "No module named 'humanize._version'"). Ratchet reads
such a file from the user's working tree (never writes it) and writes it into each
checkout it measures when git ignores it there and the checkout lacks it: the tests see
the project as the user's own run does. Its content is part of the baseline cache key
(:meth:`Generated.digest`). A declared file missing from the working tree too is named in
the baseline's notes with the fix (build the project once).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MAX_BYTES = 65536  # a version file is a few lines; anything larger is not carried
BUILD_NOTE = "its version file, declared in pyproject.toml"
NOT_BUILT = "is written by the project's build"  # in the note health.broken_baseline repeats


@dataclass(frozen=True)
class Generated:
    """The carried files (path, bytes) and the declared ones the working tree lacks."""

    files: tuple[tuple[str, bytes], ...] = ()
    missing: tuple[str, ...] = ()

    def digest(self) -> str:
        """ "" without files, else a hash of their paths and contents (the cache key's)."""
        if not self.files:
            return ""
        h = hashlib.sha256()
        for path, data in self.files:
            h.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()

    def write_into(self, checkout: Path) -> None:
        """Write each file the checkout lacks (a committed one is left as it is)."""
        for path, data in self.files:
            target = Path(checkout) / path
            if target.exists() or target.is_symlink():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def lacking(self, tracked: Iterable[str]) -> tuple[str, ...]:
        """A note for each declared file neither a commit (its ``tracked`` files) nor the
        working tree has."""
        committed = set(tracked)
        return tuple(
            f"{path} {NOT_BUILT} ({BUILD_NOTE}) and is neither "
            "committed nor in the working tree: build the project once (pip install -e .) "
            "and ratchet carries it into the checkouts it measures"
            for path in self.missing
            if path not in committed
        )


def declared(root: Path) -> list[str]:
    """The version files ``root/pyproject.toml`` (or a ``setup.py`` calling setuptools-scm
    with ``use_scm_version={"write_to": ...}``) says its build writes (module doc)."""
    found: list[object] = _from_setup_py(root)
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    tool = _table(data, "tool")
    scm = _table(tool, "setuptools_scm")
    found += [scm.get("version_file"), scm.get("write_to")]
    build = _table(_table(tool, "hatch"), "build")
    found.append(_table(_table(build, "hooks"), "vcs").get("version-file"))
    for target in _table(build, "targets").values():
        if isinstance(target, dict):
            found.append(_table(_table(target, "hooks"), "vcs").get("version-file"))
    found.append(_pdm(root, _table(tool, "pdm")))
    return list(dict.fromkeys(p for p in found if isinstance(p, str) and _relative(p)))


def find_generated(root: Path, ignored: Callable[[Iterable[str]], set[str]]) -> Generated:
    """What to carry from the working tree at ``root``; ``ignored``: which paths git
    ignores there (``Repository.ignored``). Asked several times a cycle (every cache key):
    answered again only when a build file, ``.gitignore`` or a declared file changed
    (their stats), so no file is read and no git runs for an unchanged tree."""
    configs = tuple(_stat(root / name) for name in ("pyproject.toml", "setup.py"))
    paths = _declared(root, configs)
    if not paths:
        return Generated()
    state = (root, paths, _stat(root / ".gitignore"), tuple(_stat(root / p) for p in paths))
    with _lock:
        known = _found.get(state)
    if known is not None:
        return known
    present = [p for p in paths if (root / p).is_file() and not (root / p).is_symlink()]
    carried = ignored(present) if present else set()
    files = []
    for path in present:
        if path in carried and (root / path).stat().st_size <= MAX_BYTES:
            files.append((path, (root / path).read_bytes()))
    missing = tuple(p for p in paths if p not in present)
    found = Generated(files=tuple(files), missing=missing)
    with _lock:
        _found[state] = found
    return found


_Stat = tuple[int, int, int] | None  # (inode, size, mtime_ns); None: no such file
_found: dict[tuple[object, ...], Generated] = {}
_lock = threading.Lock()


def _stat(path: Path) -> _Stat:
    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _declared(root: Path, configs: tuple[_Stat, ...]) -> tuple[str, ...]:
    """:func:`declared`, read again only when ``configs`` (the build files' stats) change."""
    return tuple(declared(root))


_SETUP_PY = re.compile(r"""["']?(?:write_to|version_file)["']?\s*[=:]\s*["']([^"'\n]+)["']""")


def _from_setup_py(root: Path) -> list[object]:
    """``write_to``/``version_file`` string literals of a setup.py that uses setuptools-scm
    (read as text, never run)."""
    try:
        text = (root / "setup.py").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return list(_SETUP_PY.findall(text)) if "use_scm_version" in text else []


def _pdm(root: Path, pdm: dict[str, Any]) -> str | None:
    """pdm-backend's ``write_to`` as a path from the root (module doc)."""
    write_to = _table(pdm, "version").get("write_to")
    if not isinstance(write_to, str):
        return None
    package_dir = _table(pdm, "build").get("package-dir")
    if not isinstance(package_dir, str):
        package_dir = "src" if (root / "src").is_dir() else ""
    return str(PurePosixPath(package_dir) / write_to) if package_dir.strip("./") else write_to


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _relative(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and ".." not in parts
