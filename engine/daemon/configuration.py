"""The daemon's configuration boundary: the last good configuration, and reloads that cannot
hurt the daemon whatever bytes were saved.

A reload never raises and never blocks for long:

- :func:`config_digest` reads only regular files, at most :data:`MAX_CONFIG_BYTES` each,
  opened non-blocking (a FIFO is described, never read), so a no-op save costs nothing;
- :func:`unreadable_files` refuses, before the loader sees them, what it cannot read safely:
  a FIFO, a device or a directory where a file belongs, a symlink out of the repository, a
  file over :data:`MAX_CONFIG_BYTES` (the loader has its own, tighter limits);
- :func:`engine.daemon.yamlguard.scan` refuses, with positions, undecodable bytes, control
  characters, deep nesting and alias bombs before the loader composes anything;
- ``engine.config.load_config`` runs in a worker thread for at most :data:`LOAD_DEADLINE`
  seconds; a ``ConfigError`` gives its issues, anything else it raises (``RecursionError``,
  ``MemoryError``, ``UnicodeDecodeError``, ``OSError``...) becomes a config issue naming the
  file that changed. A load that overruns is abandoned (its thread is a daemon thread) and no
  other starts until it ends.

Every refusal is a :class:`~engine.errors.ConfigIssue` (FILE:LINE:COL: field: problem).
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from engine.daemon.logs import LOGGER, event
from engine.daemon.yamlguard import scan
from engine.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from engine.config import Config

CONFIG_FILES = ("goals.yaml", "directives.yaml")
RULES_DIR = "rules"
RULE_SUFFIXES = (".yaml", ".yml")
log = logging.getLogger(LOGGER)

MAX_CONFIG_BYTES = 2 * 1024 * 1024
LOAD_DEADLINE = 10.0


def watched_files(repo: Path) -> list[Path]:
    """goals.yaml, directives.yaml and rules/*.yaml|yml (whether or not they exist)."""
    paths = [repo / name for name in CONFIG_FILES]
    rules = repo / RULES_DIR
    try:
        if rules.is_dir():
            paths += sorted(p for p in rules.iterdir() if p.suffix in RULE_SUFFIXES)
    except OSError:
        pass
    return paths


def read_bounded(path: Path) -> bytes | None:
    """The bytes of a regular file of at most :data:`MAX_CONFIG_BYTES` (opened non-blocking:
    a FIFO swapped in meanwhile reads as empty); None otherwise."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        data = os.read(fd, MAX_CONFIG_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= MAX_CONFIG_BYTES else None


def file_digest(path: Path) -> bytes:
    """What identifies ``path``'s content without ever blocking or reading more than the cap."""
    try:
        info = path.lstat()
        link = os.readlink(path).encode() if stat.S_ISLNK(info.st_mode) else b""
        info = path.stat() if link else info
    except OSError:
        return b"<missing>"
    described = b"<link %s>" % link if link else b""
    if not stat.S_ISREG(info.st_mode):
        kind = stat.S_IFMT(info.st_mode)
        return described + b"<%o %d %d>" % (kind, info.st_ino, info.st_mtime_ns)
    if info.st_size > MAX_CONFIG_BYTES:
        return described + b"<huge %d %d>" % (info.st_size, info.st_mtime_ns)
    data = read_bounded(path)
    return described + (data if data is not None else b"<unreadable>")


def config_digest(repo: Path) -> str:
    """Content hash of the watched files (missing files and non-files count)."""
    digest = hashlib.sha256()
    for path in watched_files(repo):
        digest.update(str(path.relative_to(repo)).encode() + b"\0")
        digest.update(hashlib.sha256(file_digest(path)).digest())
    return digest.hexdigest()


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _refusal(repo: Path, path: Path, *, directory: bool = False) -> str | None:
    try:
        is_link = path.is_symlink()
        if not is_link and not path.exists():
            return None
        if is_link:
            target = path.resolve()
            if not target.is_relative_to(repo.resolve()):
                return "is a symlink to a path outside the repository"
        info = path.stat()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        return f"cannot be read ({exc})"
    if directory:
        return None if stat.S_ISDIR(info.st_mode) else "is not a directory"
    if not stat.S_ISREG(info.st_mode):
        return f"is {_kind(info.st_mode)}, not a regular file"
    if info.st_size > MAX_CONFIG_BYTES:
        return f"is {info.st_size} bytes; configuration files are at most {MAX_CONFIG_BYTES}"
    return None


def unreadable_files(repo: Path) -> list[ConfigIssue]:
    """An issue for each watched path the loader must not be given."""
    issues = []
    rules = repo / RULES_DIR
    checks = [(repo / name, False) for name in CONFIG_FILES] + [(rules, True)]
    checks += [(p, False) for p in watched_files(repo)[len(CONFIG_FILES) :]]
    for path, directory in checks:
        problem = _refusal(repo, path, directory=directory)
        if problem is not None:
            fix = "replace it with a regular YAML file" + ("" if directory else " (UTF-8)")
            name = path.relative_to(repo).as_posix()
            issues.append(ConfigIssue(name, 1, 1, "(file)", problem, fix))
    return issues


@dataclass(frozen=True)
class Reload:
    """One reload: ``unchanged`` (same bytes), ``loaded`` (``config`` is now in force;
    ``previous`` was), or ``invalid`` (``issues``; the last good one stays)."""

    kind: Literal["unchanged", "loaded", "invalid"]
    digest: str
    config: Config | None = None
    previous: Config | None = None
    issues: tuple[ConfigIssue, ...] = ()

    @property
    def error(self) -> str:
        return "\n".join(i.render() for i in self.issues)


class ConfigKeeper:
    """The configuration in force for one repository. Main thread only; no I/O here."""

    def __init__(self, repo: Path, *, deadline: float = LOAD_DEADLINE) -> None:
        self.repo = repo
        self.deadline = deadline
        self.config: Config | None = None
        self.digest = ""
        self._good_files: dict[str, bytes] = {}  # per-file digests of the last good load
        self._overrun: threading.Thread | None = None

    def reload(self, *, force: bool = False) -> Reload:
        """Load the files if their content changed (or ``force``). Never raises."""
        digest = config_digest(self.repo)
        if digest == self.digest and not force:
            return Reload("unchanged", digest, self.config)
        self.digest = digest
        files = {
            p.relative_to(self.repo).as_posix(): file_digest(p) for p in watched_files(self.repo)
        }
        issues = unreadable_files(self.repo)
        result = issues if issues else self._load(files)
        if isinstance(result, list):
            return Reload("invalid", digest, self.config, issues=tuple(result))
        previous, self.config, self._good_files = self.config, result, files
        return Reload("loaded", digest, result, previous)

    def _load(self, files: dict[str, bytes]) -> Config | list[ConfigIssue]:
        if self._overrun is not None and self._overrun.is_alive():
            return [self._issue(files, "the previous load of it has not finished")]
        box: list[Config | list[ConfigIssue]] = []
        worker = threading.Thread(
            target=self._worker, args=(files, box), name="config-load", daemon=True
        )
        worker.start()
        worker.join(self.deadline)
        if worker.is_alive():
            self._overrun = worker
            return [self._issue(files, f"loading it took longer than {self.deadline:g}s")]
        return box[0] if box else [self._issue(files, "the loader stopped without a result")]

    def _worker(self, files: dict[str, bytes], box: list[Config | list[ConfigIssue]]) -> None:
        from engine.config import load_config

        try:
            refused = [i for i in map(self._scan, watched_files(self.repo)) if i is not None]
            box.append(refused or load_config(self.repo))
        except ConfigError as exc:
            box.append(exc.issues or [self._issue(files, str(exc))])
        except Exception as exc:  # the boundary: whatever the loader raises is a config error
            box.append([self._issue(files, f"could not be loaded ({type(exc).__name__}: {exc})")])

    def _scan(self, path: Path) -> ConfigIssue | None:
        data = read_bounded(path)
        return scan(data, path.relative_to(self.repo).as_posix()) if data is not None else None

    def _issue(self, files: dict[str, bytes], problem: str) -> ConfigIssue:
        """An issue for an error without a position: on the first file that changed since
        the last good load (goals.yaml when none is known)."""
        changed = [name for name, data in files.items() if self._good_files.get(name) != data]
        name = changed[0] if changed else CONFIG_FILES[0]
        return ConfigIssue(name, 1, 1, "(file)", problem[:500], "fix the file and save it again")


def log_invalid(result: Reload) -> None:
    """One log event per issue, with its position, and whether a last good one stays."""
    kept = "keeping the last good one" if result.config else "waiting for a valid one"
    for issue in result.issues:
        event(
            log,
            f"configuration invalid; {kept}",
            logging.ERROR,
            file=issue.file,
            line=issue.line,
            col=issue.col,
            field=issue.field,
            problem=issue.problem,
        )
