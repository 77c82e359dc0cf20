"""The daemon's configuration boundary: the last good configuration, and reloads that cannot
hurt the daemon whatever bytes were saved.

``engine.config`` reads every file safely (regular files only, opened non-blocking, no symlink
out of the repository, size, depth and alias limits, positions for every refusal; see
``engine/config/files.py`` and ``bounds.py``). On top of that, a reload here never raises and
never blocks the daemon for long:

- the fingerprint (``engine.config.config_fingerprint``, read the way the loader reads) decides
  whether anything changed, so a no-op save costs nothing;
- ``load_config`` runs in a worker thread for at most :data:`LOAD_DEADLINE` seconds; a
  ``ConfigError`` gives its issues, anything else it raises (``RecursionError``,
  ``MemoryError``, ``UnicodeDecodeError``, ``OSError``...) becomes an issue on the file that
  changed since the last good load. A load that overruns is abandoned (its thread is a daemon
  thread) and no other starts until it ends.

Every refusal is a :class:`~engine.errors.ConfigIssue` (FILE:LINE:COL: field: problem).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from engine.daemon.logs import LOGGER, event
from engine.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    from engine.config import Config

log = logging.getLogger(LOGGER)

CONFIG_FILES = ("goals.yaml", "directives.yaml")
RULES_DIR = "rules"
RULE_SUFFIXES = (".yaml", ".yml")  # watched (the loader reports a .yml file as ignored)
LOAD_DEADLINE = 60.0  # generous: a valid file on a loaded machine must never time out


def config_digest(repo: Path) -> str:
    """The fingerprint of the configuration files as the loader reads them; never raises
    (a failure to compute it gives a value that never matches a real one)."""
    from engine.config import config_fingerprint

    try:
        return config_fingerprint(repo)
    except Exception as exc:  # the boundary: nothing about the files may stop the daemon
        return f"unreadable: {type(exc).__name__}: {exc}"


def _file_states(repo: Path) -> dict[str, str]:
    """Per watched file, what the loader would read (bytes or its refusal), for naming the
    file an error without a position is about."""
    from engine.config.files import read_config_bytes

    names = list(CONFIG_FILES)
    try:
        rules = repo / RULES_DIR
        if rules.is_dir() and not rules.is_symlink():
            names += sorted(f"{RULES_DIR}/{p.name}" for p in rules.iterdir())
    except OSError:
        pass
    states = {}
    for name in names:
        try:
            data = read_config_bytes(repo, name)
            states[name] = data.hex() if isinstance(data, bytes) else data.render()
        except Exception as exc:  # the boundary
            states[name] = f"{type(exc).__name__}: {exc}"
    return states


@dataclass(frozen=True)
class Reload:
    """One reload: ``unchanged`` (same bytes), ``loaded`` (``config`` is now in force;
    ``previous`` was), or ``invalid`` (``issues``; the last good one, if any, stays)."""

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
        self._good_files: dict[str, str] = {}  # _file_states of the last good load
        self._overrun: threading.Thread | None = None

    def reload(self, *, force: bool = False) -> Reload:
        """Load the files if their content changed (or ``force``). Never raises."""
        digest = config_digest(self.repo)
        if digest == self.digest and not force:
            return Reload("unchanged", digest, self.config)
        self.digest = digest
        result = self._load()
        if isinstance(result, list):
            return Reload("invalid", digest, self.config, issues=tuple(result))
        previous, self.config, self._good_files = self.config, result, _file_states(self.repo)
        return Reload("loaded", digest, result, previous)

    def _load(self) -> Config | list[ConfigIssue]:
        if self._overrun is not None and self._overrun.is_alive():
            return [self._issue("the previous load of it has not finished")]
        box: list[Config | list[ConfigIssue]] = []
        worker = threading.Thread(target=self._worker, args=(box,), name="config", daemon=True)
        worker.start()
        worker.join(self.deadline)
        if worker.is_alive():
            self._overrun = worker
            return [self._issue(f"loading it took longer than {self.deadline:g}s")]
        return box[0] if box else [self._issue("the loader stopped without a result")]

    def _worker(self, box: list[Config | list[ConfigIssue]]) -> None:
        from engine.config import load_config

        try:
            box.append(load_config(self.repo))
        except ConfigError as exc:
            box.append(list(exc.issues) or [self._issue(str(exc))])
        except Exception as exc:  # the boundary: whatever the loader raises is a config error
            box.append([self._issue(f"could not be loaded ({type(exc).__name__}: {exc})")])

    def _issue(self, problem: str) -> ConfigIssue:
        """An issue for an error without a position: on the first file that changed since
        the last good load (goals.yaml when none is known)."""
        files = _file_states(self.repo)
        changed = [name for name, state in files.items() if self._good_files.get(name) != state]
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
