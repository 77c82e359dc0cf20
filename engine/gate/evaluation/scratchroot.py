"""Where throwaway directories live: one root per ratchet process, swept once it is gone.

Every sandboxed run works in a throwaway copy of the checkout (a whole repository each), and
a process that is killed (``kill -9``, the OOM killer, a power cut, a CI job's timeout)
cannot remove its copies: before, they stayed in ``/tmp`` for good, one repository copy per
interrupted run. Now each process puts its throwaway directories under its own root,
``$TMPDIR/ratchet-run-*``, and holds an exclusive ``flock`` on the root's ``.lock`` for as
long as it lives. The first process that needs a root removes every other root whose lock
it can take: the kernel drops a lock with the last descriptor of its holder, so a root is
swept only once no live process holds it (pid reuse cannot fool it).

A root appears under its final name only with its lock held (made as ``.ratchet-new-*``,
locked, then renamed), so a sweep never sees a root between its creation and its lock.
A normal exit removes its own root (``atexit``); a forked child that did not make the root
leaves it to the process that did. Roots of other users are not readable and are left
alone. Nothing here is judged: this is housekeeping of ratchet's own files.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
import threading
from pathlib import Path

PREFIX = "ratchet-run-"
LOCK = ".lock"
_NEW = ".ratchet-new-"

_lock = threading.Lock()
_root: Path | None = None
_owner = 0  # the pid that made ``_root`` (a forked child makes its own)


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A throwaway directory (removed when its ``with`` ends) under this process's root."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=root(), ignore_cleanup_errors=True)


def root() -> Path:
    """This process's root, made (and the roots of dead processes swept) on first use."""
    global _root, _owner
    with _lock:
        if _root is not None and _owner == os.getpid() and _root.is_dir():
            return _root
        base = Path(tempfile.gettempdir())
        new = Path(tempfile.mkdtemp(prefix=_NEW, dir=base))
        fd = os.open(new / LOCK, os.O_WRONLY | os.O_CREAT, 0o600)  # never closed: the lock
        fcntl.flock(fd, fcntl.LOCK_EX)  # lasts as long as this process
        final = base / (PREFIX + new.name[len(_NEW) :])
        os.rename(new, final)
        _root, _owner = final, os.getpid()
        sweep(base, keep=final)
        return final


def sweep(base: Path, *, keep: Path | None = None) -> list[Path]:
    """Remove the roots under ``base`` that no live process holds; returns them."""
    removed = []
    for path in base.glob(PREFIX + "*"):
        if path == keep or not path.is_dir() or path.is_symlink():
            continue
        try:
            fd = os.open(path / LOCK, os.O_RDONLY)
        except OSError:
            continue  # another user's, or not one of ours
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: its process is alive
        finally:
            os.close(fd)  # (a lock taken here goes with it)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


@atexit.register
def _remove_own() -> None:
    if _root is not None and _owner == os.getpid():
        shutil.rmtree(_root, ignore_errors=True)
