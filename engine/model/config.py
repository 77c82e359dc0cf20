"""What humans write: goals, directives (provider, timeouts, limits, budgets, ...) and rules.

Frozen and keyword-only; :mod:`engine.config` builds them from YAML and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

GoalStatus = Literal["active", "paused", "done"]


@dataclass(frozen=True, kw_only=True)
class Goal:
    id: str
    description: str
    priority: int = 0
    scope: tuple[str, ...] = ()  # glob patterns; empty = tracked *.py outside protected paths
    provider: str | None = None  # overrides directives.provider.name
    options: dict[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    status: GoalStatus = "active"
    done_when: str | None = None  # a rule expression
    allow: tuple[str, ...] = ()  # rule ids / allowances, e.g. "complexity-increase"
    metric: str | None = None  # optional goal metric expression (number; higher is better)
    # preserve: replay the baseline's recorded calls of changed functions against the
    # candidate (engine.gate.evaluation.behaviour); off: don't; None: preserve unless the
    # goal's provider is ruff (its fixes are rewrites a linter proves equivalent)
    behaviour: Literal["preserve", "off"] | None = None
    # the human's answers to ratchet's numbered questions (memory-bank/questions.md)
    answers: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ProviderConfig:
    name: str = "auto"
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    fallback: ProviderConfig | None = None


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    tests: float = 900.0  # seconds for one test-command run (baseline or candidate)
    provider: float = 120.0  # seconds for one provider call
    cycle: float = 3600.0  # wall clock for a whole cycle (the daemon enforces it)
    # a candidate's test run is killed at min(tests, max(floor, factor * baseline duration))
    factor: float = 5.0
    floor: float = 60.0


@dataclass(frozen=True, kw_only=True)
class Limits:
    memory_mb: int = 4096  # RLIMIT_AS of the sandboxed process
    cpu_seconds: int = 1800  # RLIMIT_CPU
    file_size_mb: int = 1024  # RLIMIT_FSIZE (a 64k-test suite's coverage data: 307 MB)
    open_files: int = 1024  # RLIMIT_NOFILE
    processes: int = 512  # RLIMIT_NPROC (does not bind root)
    max_diff_lines: int = 2000  # larger candidates are refused before they run
    max_file_kb: int = 512  # a created/rewritten file larger than this is refused


@dataclass(frozen=True, kw_only=True)
class RoiWeights:
    complexity: float = 1.0  # per point of total cyclomatic complexity removed
    coverage: float = 2.0  # per percentage point of coverage gained
    lint: float = 1.0  # per lint violation removed
    goal: float = 5.0  # per unit of the goal's own metric gained
    tests: float = 0.5  # per passing test added


@dataclass(frozen=True, kw_only=True)
class Budgets:
    tokens_per_cycle: int | None = None
    tokens_per_day: int | None = None
    usd_per_cycle: float | None = None
    usd_per_day: float | None = None


@dataclass(frozen=True, kw_only=True)
class Schedule:
    cron: tuple[str, ...] = ()  # crontab expressions, e.g. "0 2 * * *"
    timezone: str = "UTC"
    interval_minutes: float | None = None
    on_change: Literal["run", "wait"] = "wait"


@dataclass(frozen=True, kw_only=True)
class AuditSchedule:
    """When the daemon runs ``ratchet audit`` (the trap goals) on its own."""

    cron: tuple[str, ...] = ()
    timezone: str = "UTC"


@dataclass(frozen=True, kw_only=True)
class Executor:
    """Where candidate evaluations run: ``local`` (this machine's sandbox) or ``ray`` (Ray
    tasks on a cluster, each in the worker's own sandbox; :mod:`engine.gate.executor`)."""

    kind: Literal["local", "ray"] = "local"
    address: str | None = None  # ray: the cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``)


@dataclass(frozen=True, kw_only=True)
class Identity:
    name: str = "ratchet-bot"
    email: str = "ratchet-bot@localhost"


@dataclass(frozen=True, kw_only=True)
class Push:
    """``directives.push``: share ratchet's work on a remote after each cycle (docs/cycle.md)."""

    remote: str  # a git remote of the repository, e.g. "origin"
    # review: candidates kept for a human; merged: the target branch ratchet merged into;
    # all: both, and the archive refs (refs/ratchet/*). Notes (refs/notes/ratchet) always.
    branches: Literal["review", "merged", "all"] = "review"
    pull_requests: Literal["auto", "off"] = "auto"  # auto: draft PRs when `gh` is logged in


@dataclass(frozen=True, kw_only=True)
class Directives:
    target_branch: str | None = None  # None: the repo's current branch
    merge: Literal["auto", "review"] = "auto"
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    test_command: str = "auto"  # "auto": discovered from the project (engine.gate.testcmd)
    protected_paths: tuple[str, ...] = ()  # added to the built-in list
    on_protected: Literal["reject", "review"] = "reject"
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    sandbox: Literal["bwrap", "unsafe-none"] = "bwrap"
    roi: RoiWeights = field(default_factory=RoiWeights)
    budgets: Budgets = field(default_factory=Budgets)
    schedule: Schedule = field(default_factory=Schedule)
    identity: Identity = field(default_factory=Identity)
    max_review_branches: int = 5
    push: Push | None = None  # None: nothing is pushed
    flaky_reruns: int = 1  # a test that fails on the candidate is re-run this many times
    context_tokens: int = 6000  # token budget for the prompt context (model providers)
    workers: int = 1  # candidates evaluated at once by the daemon (run-once --workers N)
    executor: Executor = field(default_factory=Executor)
    audit: AuditSchedule | None = None  # None: the daemon never runs the trap goals


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    description: str
    require: str  # CEL expression, must be true to pass
    when: str | None = None  # CEL expression; rule applies only when true
    on_fail: Literal["reject", "review"] = "reject"
    source: str = ""  # "rules/default.yaml:12"
