"""Built-in guards: checks in code (not in rules/, which a human may edit) that run on
every evaluated candidate. Each returns a RuleOutcome named ``guard-*`` whose ``values``
carry the evidence (``findings``: file, line, evidence, before/after snippets).

A failed guard with ``on_fail == "reject"`` rejects whatever the rules say; one with
``"review"`` turns a merge into a review. A goal may accept a guard's findings by listing
its id in ``allow`` (except the three marked "no" below). Guards fail closed: a guard that
crashes is recorded as failed.

===========================  ==============================================  ======
id                           fails when the candidate ...                    allow?
===========================  ==============================================  ======
guard-protected-paths        touches a protected path (on_fail: directives)  no
guard-tests-ran              made the test command time out                  no
guard-tests-deleted          deletes, renames away or shadows a test         yes
guard-tests-fewer            collects fewer tests than the baseline          yes
guard-assertions-weakened    weakens/removes checks, adds empty tests        yes
guard-tests-skipped          adds skip/xfail marks or skips more tests       yes
guard-test-exit              ends the test process (pytest.exit, sys.exit)   yes
guard-runner-tampering       reaches into pytest/coverage/sys.modules/trace  yes
guard-coverage-pragma        adds ``# pragma: no cover``                     yes
guard-suppression            adds nosec/noqa/type-ignore comments            yes
guard-shadowing              adds a module shadowing tools/stdlib/packages   yes
guard-test-path-import       makes code import from test paths               yes
guard-worktree-tampered      changes its own checkout while tests run        yes
guard-security-<category>    adds risky constructs (see guards.security)     yes
guard-security-bandit        has more bandit findings of some check          yes
guard-quarantine             (never fails) lists quarantined tests           no
===========================  ==============================================  ======

:func:`engine.gate.guards.quarantine.apply_quarantine` runs before the rules (it adjusts the
metrics they see); :func:`run_guards` runs every other guard.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.gate.guards import assertions, markers, runs, security, tampering
from engine.gate.guards.base import FileVersion, Finding, GuardSpec, changed_versions, outcome
from engine.gate.guards.quarantine import Quarantine, apply_quarantine
from engine.model import ChangeFacts, Directives, Metrics, RuleOutcome
from engine.vcs import Repository

__all__ = ["GUARD_IDS", "Quarantine", "apply_quarantine", "run_guards"]

GUARD_IDS: tuple[str, ...] = (
    "guard-protected-paths", "guard-tests-ran", assertions.DELETED.id, runs.FEWER.id,
    assertions.WEAKENED.id, markers.SKIPPED.id, markers.EXIT.id, tampering.RUNNER.id,
    markers.PRAGMA.id, markers.SUPPRESSION.id, tampering.SHADOWING.id,
    tampering.TEST_PATH_IMPORT.id,
    runs.TAMPERED.id, *(spec.id for spec in security.SPECS.values()), security.BANDIT.id,
    "guard-quarantine",
)  # fmt: skip


def run_guards(
    repo: Repository,
    base_commit: str,
    head_commit: str,
    baseline: Metrics,
    candidate: Metrics,
    change: ChangeFacts,
    directives: Directives,
    *,
    allow: Sequence[str] = (),
) -> tuple[RuleOutcome, ...]:
    """Every built-in guard's outcome for one candidate (``head_commit`` is the evaluated
    candidate commit, child of ``base_commit``; files are read through ``repo``).
    ``allow`` is the goal's allow list."""
    outcomes = [_protected(change, directives), _tests_ran(candidate)]
    try:
        files = changed_versions(repo, base_commit, head_commit)
        base_files = repo.ls_files(base_commit)
    except Exception as exc:  # noqa: BLE001 - fail closed, with the reason on record
        return (*outcomes, _crashed(GuardSpec(id="guard-diff", requirement="read the diff"), exc))

    def static(finder: Callable[[list[FileVersion]], list[Finding]]) -> Callable[[], list[Finding]]:
        return lambda: finder(files)

    checks: list[tuple[GuardSpec, Callable[[], list[Finding]]]] = [
        (assertions.DELETED, static(assertions.find_deleted)),
        (runs.FEWER, lambda: runs.find_fewer(baseline, candidate)),
        (assertions.WEAKENED, static(assertions.find_weakened)),
        (
            markers.SKIPPED,
            lambda: markers.find_skips(files) + runs.find_more_skipped(baseline, candidate),
        ),
        (markers.EXIT, static(markers.find_exits)),
        (tampering.RUNNER, static(tampering.find_runner_tampering)),
        (markers.PRAGMA, static(markers.find_pragmas)),
        (markers.SUPPRESSION, static(markers.find_suppressions)),
        (tampering.SHADOWING, lambda: tampering.find_shadowing(files, base_files)),
        (tampering.TEST_PATH_IMPORT, static(tampering.find_test_path_imports)),
        (runs.TAMPERED, lambda: runs.find_tampered(baseline, candidate)),
    ]
    for spec, check in checks:
        outcomes.append(_guarded(spec, check, allow))
    try:
        risky = security.find_risky(files)
    except Exception as exc:  # noqa: BLE001 - fail closed
        outcomes += [_crashed(spec, exc) for spec in security.SPECS.values()]
    else:
        outcomes += [outcome(security.SPECS[cat], risky[cat], allow) for cat in security.SPECS]
    outcomes.append(
        _guarded(security.BANDIT, lambda: security.find_new_bandit(baseline, candidate), allow)
    )
    return tuple(outcomes)


def _guarded(
    spec: GuardSpec, check: Callable[[], list[Finding]], allow: Sequence[str]
) -> RuleOutcome:
    try:
        return outcome(spec, check(), allow)
    except Exception as exc:  # noqa: BLE001 - a guard that crashes fails closed
        return _crashed(spec, exc)


def _crashed(spec: GuardSpec, exc: Exception) -> RuleOutcome:
    return RuleOutcome(
        id=spec.id,
        passed=False,
        on_fail="reject",
        detail=f"the guard could not run ({type(exc).__name__}: {exc}); failing closed",
        values={"error": f"{type(exc).__name__}: {exc}"},
    )


def _protected(change: ChangeFacts, directives: Directives) -> RuleOutcome:
    return RuleOutcome(
        id="guard-protected-paths",
        passed=not change.protected,
        on_fail=directives.on_protected,
        detail=(
            "touches protected paths: " + ", ".join(change.protected)
            if change.protected
            else "no protected path touched"
        ),
        values={"protected": list(change.protected)},
    )


def _tests_ran(candidate: Metrics) -> RuleOutcome:
    return RuleOutcome(
        id="guard-tests-ran",
        passed=not candidate.tests.timed_out,
        detail=(
            "the test command timed out and was killed"
            if candidate.tests.timed_out
            else f"test command exit code {candidate.tests.exit_code}"
        ),
        values={"timed_out": candidate.tests.timed_out},
    )
