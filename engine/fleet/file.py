"""The fleet file (``fleet.yaml``): which repositories one fleet daemon steers.

::

    version: 1
    executor:            # optional: for every member whose directives.yaml sets none
      kind: ray
      address: auto
    parallel: 2          # optional: `fleet run-once` runs up to N members at once (1)
    repos:
      - path: ../service-a        # relative to this file's directory
      - path: /srv/lib-b
        name: lib-b               # optional: the directory's name
        paused: true              # optional: not started until the file says otherwise

:func:`load_fleet` reads it through the same hardened reader and position-keeping YAML
parser as goals.yaml (size caps, no symlink out of its directory, ``FILE:LINE:COL`` for
every value) and checks it with the same declarative schema; ``executor`` is checked by
the very schema of ``directives.executor``. Every problem is reported at once, as
``FILE:LINE:COL: field: problem; fix``, in one :class:`~engine.errors.FleetFileError`.
What needs git (a path that is not a repository, a member's own configuration) is checked
by :mod:`engine.fleet.members`, member by member: a bad member never invalidates the file.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config.directives import EXECUTOR
from engine.config.files import read_config_text
from engine.config.schema import (
    INVALID,
    Cursor,
    Field,
    Schema,
    boolean,
    check_document,
    integer,
    list_of,
    nested,
    string,
    version_field,
)
from engine.config.yamlpos import YamlDoc, load_yaml
from engine.errors import ConfigIssue, FleetFileError
from engine.model import Executor

DEFAULT_FLEET_FILE = "fleet.yaml"
STATE_DIR = ".ratchet-fleet"  # next to the fleet file: <dir>/.ratchet-fleet/<file stem>/
MAX_PARALLEL = 32
# A member's name names its files in the fleet's state (logs, pause markers): no slashes.
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_NAME_FIX = "letters, digits, '.', '_' and '-', starting with a letter or digit"
_EXAMPLE = "'version: 1' and 'repos: [{path: ../my-repo}]'"


@dataclass(frozen=True, kw_only=True)
class FleetEntry:
    """One ``repos:`` entry: where it is written (for messages), its path resolved
    against the fleet file's directory, and its settings."""

    name: str
    path: Path  # absolute, not yet checked to exist
    written: str  # the path as the file writes it
    paused: bool = False
    line: int = 1  # of its ``path`` value
    col: int = 1
    index: int = 0  # its position in ``repos``

    def issue(self, fleet: Fleet, problem: str, fix: str = "") -> ConfigIssue:
        """A problem of this entry, at its ``path`` in the fleet file."""
        field = f"repos[{self.index}].path"
        return ConfigIssue(fleet.shown, self.line, self.col, field, problem, fix)


@dataclass(frozen=True, kw_only=True)
class Fleet:
    file: Path  # absolute
    shown: str  # how messages name the file
    entries: tuple[FleetEntry, ...]
    executor: Executor | None = None  # shared by members that set none
    parallel: int = 1

    @property
    def state_dir(self) -> Path:
        """The fleet's own state: its lock, status, pause markers and logs."""
        return self.file.parent / STATE_DIR / self.file.stem

    def entry(self, name: str) -> FleetEntry | None:
        return next((e for e in self.entries if e.name == name), None)


ENTRY = Schema(
    fields={
        "path": Field(string(), required=True, example="path: ../my-repo"),
        "name": Field(string(pattern=NAME, what="member name", hint=_NAME_FIX)),
        "paused": Field(boolean()),
    },
)

FLEET = Schema(
    fields={
        "version": version_field(),
        "executor": Field(nested(EXECUTOR)),
        "parallel": Field(integer(minimum=1, maximum=MAX_PARALLEL)),
        "repos": Field(
            list_of(nested(ENTRY)), required=True, example="repos: [{path: ../my-repo}]"
        ),
    },
)


def load_fleet(path: Path) -> Fleet:
    """The fleet of the file at ``path``; FleetFileError listing every problem."""
    shown = str(path)
    absolute = Path(path).absolute()
    text = read_config_text(absolute.parent, absolute.name)
    if isinstance(text, ConfigIssue):
        fix = text.fix
        if text.problem == "not found":
            fix = f"write one (docs/scale.md, 'Fleet'), or point --fleet at it: {_EXAMPLE}"
        raise FleetFileError(ConfigIssue(shown, 1, 1, "(file)", text.problem, fix))
    fleet, issues = check_fleet(load_yaml(text, shown), absolute)
    errors = [i for i in issues if not i.warning]
    if fleet is None or errors:
        raise FleetFileError(errors)
    return fleet


def check_fleet(doc: YamlDoc, file: Path) -> tuple[Fleet | None, list[ConfigIssue]]:
    """A parsed fleet file -> the Fleet (None when invalid) and every issue (pure)."""
    value, issues = check_document(doc, FLEET, _EXAMPLE)
    if value is INVALID:
        return None, issues
    cursor = Cursor(doc, ())
    entries = _entries(value.get("repos", ()), file.parent, cursor)
    if not value.get("repos"):
        cursor.child("repos").report("lists no repository", "add one: repos: [{path: ../my-repo}]")
    if cursor.issues:
        return None, issues + sorted(cursor.issues, key=lambda i: (i.line, i.col))
    fleet = Fleet(
        file=file,
        shown=doc.file,
        entries=entries,
        executor=value.get("executor"),
        parallel=value.get("parallel", 1),
    )
    return fleet, issues


def _entries(raw: Any, base: Path, cursor: Cursor) -> tuple[FleetEntry, ...]:
    """The entries with their defaults; duplicate names and paths reported."""
    entries: list[FleetEntry] = []
    names: dict[str, int] = {}
    paths: dict[Path, int] = {}
    for index, item in enumerate(raw):
        here = cursor.child("repos").child(index)
        written = item["path"]
        path = Path(posixpath.normpath((base / Path(written).expanduser()).as_posix()))
        name = item.get("name") or path.name
        if "name" not in item and not re.fullmatch(NAME, name):
            here.child("path").report(
                f"the directory name '{name}' cannot name a member ({_NAME_FIX})",
                "add 'name: ...' to this entry",
            )
            continue
        if name in names:
            here.child("name" if "name" in item else "path").report(
                f"a second member named '{name}' (the first is repos[{names[name]}])",
                "give one of them another 'name:'",
            )
            continue
        if path in paths:
            here.child("path").report(
                f"the same repository as repos[{paths[path]}] ({path})",
                "list each repository once: one writer per repository",
            )
            continue
        names[name], paths[path] = index, index
        pos = cursor.doc.value_pos(("repos", index, "path"))
        entries.append(
            FleetEntry(
                name=name,
                path=path,
                written=written,
                paused=bool(item.get("paused", False)),
                line=pos.line,
                col=pos.col,
                index=index,
            )
        )
    return tuple(entries)
