"""The fleet's members, resolved: each entry of the fleet file checked on its own.

:func:`resolve_member` turns a :class:`~engine.fleet.file.FleetEntry` into a
:class:`Member`: the path exists and is inside a git working tree (its top level is the
member's root), it has a ratchet configuration, and that configuration passes the checks
of ``ratchet check`` (:func:`engine.config.environment.check_repository`: every
``FILE:LINE:COL`` error of its goals, directives and rules, and the machine checks).
A member that fails is *skipped* with its problems, never fatal to the fleet. The fleet
only reads a member's files: it never writes its goals, directives or rules.

The shared executor of the fleet file is the member's when its directives.yaml sets no
``executor`` (:mod:`engine.config.shared`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.config import DIRECTIVES_FILE, GOALS_FILE, RULES_DIR
from engine.errors import ConfigIssue, GitError
from engine.fleet.file import Fleet, FleetEntry
from engine.model import Executor

if TYPE_CHECKING:
    from engine.vcs import Repository

DEFAULT_CYCLE_TIMEOUT = 3600.0


@dataclass(frozen=True, kw_only=True)
class Member:
    """One member as resolved now. ``problems`` non-empty: it is skipped."""

    name: str
    path: Path  # the repository's top level (the entry's path when that is unusable)
    paused: bool = False  # in the fleet file
    executor: Executor | None = None  # the fleet's, when it applies to this member
    cycle_timeout: float = DEFAULT_CYCLE_TIMEOUT  # directives.timeouts.cycle
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def usable(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "path": str(self.path),
            "paused_in_file": self.paused,
            "executor": self.executor.kind if self.executor else None,
            "usable": self.usable,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }


def resolve_members(fleet: Fleet) -> tuple[Member, ...]:
    """Every entry of ``fleet`` resolved, in file order; two entries that turn out to be
    the same repository: the later one is skipped."""
    members: list[Member] = []
    seen: dict[Path, str] = {}
    for entry in fleet.entries:
        member = resolve_member(fleet, entry)
        if member.usable and member.path in seen:
            problem = entry.issue(
                fleet,
                f"the same repository as member '{seen[member.path]}' ({member.path})",
                "list each repository once: one writer per repository",
            )
            member = Member(name=entry.name, path=member.path, problems=(problem.render(),))
        elif member.usable:
            seen[member.path] = entry.name
        members.append(member)
    return tuple(members)


def resolve_member(fleet: Fleet, entry: FleetEntry) -> Member:
    """``entry`` checked (see module doc); never raises for the member's faults: whatever
    goes wrong checking it (a git that fails oddly) makes it skipped, with the error."""
    try:
        return _resolve(fleet, entry)
    except Exception as exc:  # one member's fault must never stop the fleet
        issue = entry.issue(fleet, f"could not check it: {exc!r}", "see `ratchet check --repo`")
        return Member(
            name=entry.name, path=entry.path, paused=entry.paused, problems=(issue.render(),)
        )


def _resolve(fleet: Fleet, entry: FleetEntry) -> Member:
    from engine.vcs import Repository

    def skipped(problem: str, fix: str, path: Path = entry.path) -> Member:
        issue = entry.issue(fleet, problem, fix)
        return Member(name=entry.name, path=path, paused=entry.paused, problems=(issue.render(),))

    if not entry.path.exists():
        return skipped(f"'{entry.written}' ({entry.path}) does not exist", "fix the path")
    try:
        repository = Repository.open(entry.path)
    except GitError as exc:
        why = exc.stderr.strip().split("; ")[0]  # its own fix names `--repo`
        return skipped(why, "point it at a git repository with a commit, or `git init` there")
    root = repository.root.resolve()
    if fleet.file.resolve().is_relative_to(root):
        return skipped(
            f"the fleet file lies in this repository's working tree ({root}): the fleet's "
            "state would be written into it",
            "move the fleet file out of the repositories it steers",
            root,
        )
    missing = [n for n in (GOALS_FILE, DIRECTIVES_FILE, RULES_DIR) if not (root / n).exists()]
    if missing:
        return skipped(
            f"{root} has no ratchet configuration ({', '.join(missing)} missing)",
            f"run `ratchet init --repo {root}` there and commit its files",
            root,
        )
    errors, warnings, timeout, own_executor = check_member(repository)
    executor = None if own_executor else fleet.executor
    return Member(
        name=entry.name,
        path=root,
        paused=entry.paused,
        executor=executor,
        cycle_timeout=timeout,
        problems=tuple(_render(entry.name, root, i) for i in errors),
        warnings=tuple(_render(entry.name, root, i) for i in warnings),
    )


def check_member(
    repository: Repository,
) -> tuple[list[ConfigIssue], list[ConfigIssue], float, bool]:
    """What ``ratchet check --repo`` reports for the member: its errors, warnings, cycle
    timeout and whether its directives.yaml sets its own executor."""
    from engine.checking import check_report
    from engine.config.shared import sets_executor

    report = check_report(repository)
    errors = list(report.errors)
    if report.config is None and not errors:
        errors.append(ConfigIssue(GOALS_FILE, 1, 1, "(file)", "the configuration did not load"))
    timeout = DEFAULT_CYCLE_TIMEOUT
    if report.config is not None:
        timeout = report.config.directives.timeouts.cycle
    return errors, list(report.warnings), timeout, sets_executor(repository.root)


def _render(name: str, root: Path, issue: ConfigIssue) -> str:
    """``NAME: /abs/goals.yaml:5:3: goals[0].priority: ...``: a member's issue, its file
    named absolutely (the member's files are not relative to the fleet file)."""
    return f"{name}: {root / issue.file}:{issue.render().split(':', 1)[1]}"
