"""The guard registry: one table, id -> spec (requirement, default ``on_fail``, allowable)
+ check function + what makes it fail. Everything else derives from it: the run order of
:func:`engine.gate.guards.run_guards`, :data:`GUARD_IDS`, the validation of a goal's
``allow`` list, and the table in SECURITY.md (``tests/test_guards_registry.py`` checks that
it matches :func:`render_table`).

A check is a pure function of :class:`~engine.gate.guards.base.GuardFacts` returning
findings. ``check=None`` marks a guard whose outcome another step records
(``guard-quarantine``: the decision, before the rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from engine.errors import UnknownGuardError
from engine.gate.guards import (
    api,
    assertions,
    environ,
    importtime,
    markers,
    platform,
    quarantine,
    runs,
    security,
    tampering,
)
from engine.gate.guards.base import FileVersion, Finding, GuardFacts, GuardSpec

Check = Callable[[GuardFacts], Sequence[Finding]]

PROTECTED = GuardSpec(
    id="guard-protected-paths",
    requirement="no protected path is touched",
    allowable=False,
)


@dataclass(frozen=True, kw_only=True)
class Guard:
    """One row of the table. ``reads_diff``: the check needs the changed files (a diff
    that cannot be read fails such guards closed, not the others)."""

    spec: GuardSpec
    check: Check | None
    fails_when: str  # "the candidate ..." in the docs table
    reads_diff: bool = True

    @property
    def id(self) -> str:
        return self.spec.id


def _files(finder: Callable[[list[FileVersion]], list[Finding]]) -> Check:
    return lambda facts: finder(list(facts.files))


def _risky(category: str) -> Check:
    def check(facts: GuardFacts) -> list[Finding]:
        return facts.memo("security", lambda: security.find_risky(list(facts.files)))[category]

    return check


def _protected(facts: GuardFacts) -> list[Finding]:
    return [
        Finding(guard=PROTECTED.id, file=path, evidence="touches a protected path")
        for path in facts.change.protected
    ]


_SECURITY_DOCS = {
    "exec": "adds eval/exec/compile/runpy",
    "shell": "adds shell commands (shell=True, os.system, ...)",
    "process": "adds forking, signals, privilege or limit changes",
    "network": "adds a network client or server",
    "filesystem": "reaches outside the repository (home, host paths, links)",
    "git": "reaches into .git or runs the git command",
    "native": "adds ctypes/cffi/mmap",
    "dynamic": "adds dynamic imports or introspection tricks",
}

GUARDS: dict[str, Guard] = {
    g.id: g
    for g in (
        Guard(spec=PROTECTED, check=_protected, reads_diff=False,
              fails_when="touches a protected path (on_fail: directives.on_protected)"),
        Guard(spec=runs.TESTS_RAN, check=lambda f: runs.find_timeout(f.candidate),
              reads_diff=False, fails_when="made the test command time out"),
        Guard(spec=assertions.DELETED, check=_files(assertions.find_deleted),
              fails_when="deletes, renames away or shadows a test"),
        Guard(spec=runs.FEWER, check=lambda f: runs.find_fewer(f.baseline, f.candidate),
              fails_when="collects fewer tests than the baseline"),
        Guard(spec=assertions.WEAKENED, check=_files(assertions.find_weakened),
              fails_when="weakens/removes checks, adds empty tests"),
        Guard(spec=assertions.CHANGED, check=_files(assertions.find_changed),
              fails_when="rewrites an existing test's check (same count)"),
        Guard(spec=markers.SKIPPED,
              check=lambda f: markers.find_skips(list(f.files))
              + runs.find_more_skipped(f.baseline, f.candidate),
              fails_when="adds skip/xfail marks or skips more tests"),
        Guard(spec=markers.EXIT, check=_files(markers.find_exits),
              fails_when="ends the test process (pytest.exit, sys.exit, os._exit)"),
        Guard(spec=tampering.RUNNER, check=_files(tampering.find_runner_tampering),
              fails_when="reaches into pytest/coverage/sys.modules/trace hooks"),
        Guard(spec=markers.PRAGMA, check=_files(markers.find_pragmas),
              fails_when="adds `# pragma: no cover`"),
        Guard(spec=markers.SUPPRESSION, check=_files(markers.find_suppressions),
              fails_when="adds nosec/noqa/type-ignore comments"),
        Guard(spec=tampering.SHADOWING,
              check=lambda f: tampering.find_shadowing(list(f.files), list(f.base_files)),
              fails_when="adds a module shadowing tools/stdlib/packages, or a .pth file"),
        Guard(spec=tampering.TEST_PATH_IMPORT, check=_files(tampering.find_test_path_imports),
              fails_when="makes code import from test paths"),
        Guard(spec=runs.TAMPERED, check=lambda f: runs.find_tampered(f.baseline, f.candidate),
              fails_when="changes its own checkout while the tests run"),
        Guard(spec=platform.PLATFORM_BRANCH,
              check=_files(platform.find_removed_platform_branches),
              fails_when="removes a branch that only runs on another platform"),
        Guard(spec=api.API_CHANGE,
              check=lambda f: api.find_api_changes(f.files, f.base_files, f.read_base),
              fails_when="breaks a public import or a public signature"),
        Guard(spec=importtime.IMPORT_SIDE_EFFECT,
              check=_files(importtime.find_import_side_effects),
              fails_when="adds statements that run at import time"),
        Guard(spec=environ.ENV_EXFILTRATION, check=_files(environ.find_env_exfiltration),
              fails_when="copies, serialises or iterates the whole environment"),
        *(Guard(spec=spec, check=_risky(cat), fails_when=_SECURITY_DOCS[cat])
          for cat, spec in security.SPECS.items()),
        Guard(spec=security.BANDIT,
              check=lambda f: security.find_new_bandit(f.baseline, f.candidate),
              fails_when="has more findings of a bandit check than the baseline"),
        Guard(spec=quarantine.QUARANTINE, check=None, reads_diff=False,
              fails_when="(never fails) lists the quarantined tests"),
    )
}  # fmt: skip

GUARD_IDS: tuple[str, ...] = tuple(GUARDS)


def guard(name: str) -> Guard:
    """The guard called ``name`` (an id or an allow alias such as ``api-change``).

    Raises :class:`~engine.errors.UnknownGuardError` listing the valid ids."""
    if name in GUARDS:
        return GUARDS[name]
    for entry in GUARDS.values():
        if name in entry.spec.aliases:
            return entry
    raise UnknownGuardError(name, valid_names())


def valid_names() -> tuple[str, ...]:
    """Every id and alias, in table order."""
    return tuple(n for g in GUARDS.values() for n in (g.id, *g.spec.aliases))


def allow_problem(name: str) -> tuple[str, str] | None:
    """Why ``name`` cannot stand in a goal's ``allow`` list, with the fix; None when fine.

    Names that are not guard names (no ``guard-`` prefix and no alias) are left to the
    rules (``complexity-increase``, ``zero-roi``: allowances that rules read)."""
    if not name.startswith("guard-") and name not in valid_names():
        return None
    try:
        entry = guard(name)
    except UnknownGuardError as exc:
        return f"unknown guard {name!r}", f"valid guard names: {', '.join(exc.valid)}"
    if not entry.spec.allowable:
        allowable = ", ".join(g.id for g in GUARDS.values() if g.spec.allowable)
        return f"guard {name!r} cannot be allowed by a goal", f"allowable guards: {allowable}"
    return None


def render_table(guards: Iterable[Guard] | None = None) -> str:
    """The guards as a Markdown table: id, fails when, default on_fail, allowable (alias)."""
    rows = [
        "| guard | fails when the candidate ... | on_fail | goal may allow |",
        "|---|---|---|---|",
    ]
    for g in guards if guards is not None else GUARDS.values():
        allow = "no"
        if g.spec.allowable:
            allow = "yes" + (f" (`{'`, `'.join(g.spec.aliases)}`)" if g.spec.aliases else "")
        on_fail = "directives" if g.spec is PROTECTED else g.spec.on_fail if g.check else "-"
        rows.append(f"| `{g.id}` | {g.fails_when} | {on_fail} | {allow} |")
    return "\n".join(rows)
