"""Frozen value types shared by every layer. No I/O here, no imports of the engine.

Metrics are plain nested dataclasses so that the rule engine can see them as maps
(``candidate.tests.failed``, ``delta.coverage.percent``) through :func:`to_data`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

EditOp = Literal["replace", "insert", "delete", "add_import", "create", "search_replace", "rewrite"]
EDIT_OPS: tuple[str, ...] = (
    "replace",
    "insert",
    "delete",
    "add_import",
    "create",
    "search_replace",
    "rewrite",
)
Outcome = Literal[
    "merged", "rejected", "review", "pending", "nothing-to-do", "refused", "error", "budget"
]
GoalStatus = Literal["active", "paused", "done"]


# --------------------------------------------------------------------------- goals & directives


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


@dataclass(frozen=True, kw_only=True)
class Limits:
    memory_mb: int = 4096  # RLIMIT_AS of the sandboxed process
    cpu_seconds: int = 1800  # RLIMIT_CPU
    file_size_mb: int = 256  # RLIMIT_FSIZE
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
class Identity:
    name: str = "ratchet-bot"
    email: str = "ratchet-bot@localhost"


@dataclass(frozen=True, kw_only=True)
class Directives:
    target_branch: str | None = None  # None: the repo's current branch
    merge: Literal["auto", "review"] = "auto"
    provider: ProviderConfig = field(default_factory=ProviderConfig)
    test_command: str = "python -m pytest -q"
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
    flaky_reruns: int = 1  # a test that fails on the candidate is re-run this many times
    context_tokens: int = 6000  # token budget for the prompt context (model providers)


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    description: str
    require: str  # CEL expression, must be true to pass
    when: str | None = None  # CEL expression; rule applies only when true
    on_fail: Literal["reject", "review"] = "reject"
    source: str = ""  # "rules/default.yaml:12"


# --------------------------------------------------------------------------- proposals


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One edit op of an edit plan (see ARCHITECTURE.md)."""

    file: str
    op: EditOp
    symbol: str | None = None  # replace/delete: qualified name, e.g. "Parser.parse"
    after: str | None = None  # insert: qualified name to insert after (None: end of file)
    code: str | None = None  # replace/insert/add_import/create/rewrite
    search: str | None = None  # search_replace
    replace: str | None = None  # search_replace


@dataclass(frozen=True, kw_only=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cached: int = 0  # calls answered from the local cache
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """An edit plan plus where it came from."""

    summary: str
    rationale: str = ""
    edits: tuple[Edit, ...] = ()
    provider: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True, kw_only=True)
class TestMetrics:
    __test__ = False  # not a pytest class

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    collected: int = 0
    duration: float = 0.0
    exit_code: int = 0
    timed_out: bool = False
    failures: tuple[str, ...] = ()  # node ids of failed/errored tests
    quarantined: tuple[str, ...] = ()  # failing on the baseline too: not blamed on a candidate
    tampered: tuple[str, ...] = ()  # what the run changed in its copy of the checkout
    output_tail: str = ""  # last lines of the test output (for the log and the refine loop)


@dataclass(frozen=True, kw_only=True)
class CoverageMetrics:
    percent: float = 0.0
    covered_lines: int = 0
    num_statements: int = 0
    files: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ComplexityMetrics:
    total: int = 0
    max: int = 0
    mean: float = 0.0
    blocks: int = 0
    mi: float = 100.0  # mean maintainability index over files


@dataclass(frozen=True, kw_only=True)
class LintMetrics:
    violations: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    unformatted: int = 0  # files `ruff format --check` would reformat


@dataclass(frozen=True, kw_only=True)
class SecurityMetrics:
    findings: int = 0  # bandit findings (all severities)
    high: int = 0
    by_test: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Metrics:
    commit: str = ""
    tests: TestMetrics = field(default_factory=TestMetrics)
    coverage: CoverageMetrics = field(default_factory=CoverageMetrics)
    complexity: ComplexityMetrics = field(default_factory=ComplexityMetrics)
    lint: LintMetrics = field(default_factory=LintMetrics)
    security: SecurityMetrics = field(default_factory=SecurityMetrics)
    goal: float = 0.0  # the goal's own metric, when it has one
    sandbox: str = "bwrap"  # "bwrap" or "unsafe-none"
    seconds: float = 0.0  # wall clock spent measuring


@dataclass(frozen=True, kw_only=True)
class ChangeFacts:
    """What a candidate's diff touches; seen by rules as ``change``."""

    files: tuple[str, ...] = ()
    lines_added: int = 0
    lines_removed: int = 0
    symbols: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()  # protected paths touched
    tests_touched: tuple[str, ...] = ()
    empty: bool = True
    # static guard findings: {guard, file, line, evidence}
    findings: tuple[dict[str, Any], ...] = ()

    @property
    def lines(self) -> int:
        return self.lines_added + self.lines_removed


@dataclass(frozen=True, kw_only=True)
class RuleOutcome:
    id: str
    passed: bool
    detail: str  # human sentence: what was required, the values seen
    on_fail: Literal["reject", "review"] = "reject"
    values: dict[str, Any] = field(default_factory=dict)
    applicable: bool = True


DecisionKind = Literal["merge", "reject", "review"]


@dataclass(frozen=True, kw_only=True)
class Decision:
    kind: DecisionKind
    outcomes: tuple[RuleOutcome, ...] = ()

    @property
    def failed(self) -> tuple[RuleOutcome, ...]:
        return tuple(o for o in self.outcomes if o.applicable and not o.passed)


@dataclass(frozen=True, kw_only=True)
class CycleReport:
    """Everything one cycle did; the CLI prints it, memory records it."""

    cycle_id: str
    goal: str | None
    outcome: Outcome
    message: str = ""
    branch: str | None = None
    commit: str | None = None
    target: str | None = None
    target_before: str | None = None
    target_after: str | None = None
    attempt: int = 0
    provider: str = ""
    model: str = ""
    summary: str = ""
    rules: tuple[RuleOutcome, ...] = ()
    baseline: Metrics | None = None
    candidate: Metrics | None = None
    change: ChangeFacts | None = None
    roi: float = 0.0
    usage: Usage = field(default_factory=Usage)
    rejected_ref: str | None = None
    started: str = ""
    finished: str = ""
    notes: tuple[str, ...] = ()
    fingerprint: str = ""  # identity of the proposed diff (same goal + same diff)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape: the keys the issue fixes, then the rest."""
        return {
            "goal": self.goal,
            "outcome": self.outcome,
            "branch": self.branch,
            "commit": self.commit,
            "target_before": self.target_before,
            "target_after": self.target_after,
            "rules": [{"id": r.id, "passed": r.passed, "detail": r.detail} for r in self.rules],
            "baseline": to_data(self.baseline) if self.baseline else {},
            "candidate": to_data(self.candidate) if self.candidate else {},
            "cycle_id": self.cycle_id,
            "message": self.message,
            "target": self.target,
            "attempt": self.attempt,
            "provider": self.provider,
            "model": self.model,
            "summary": self.summary,
            "change": to_data(self.change) if self.change else {},
            "roi": self.roi,
            "usage": to_data(self.usage),
            "rejected_ref": self.rejected_ref,
            "started": self.started,
            "finished": self.finished,
            "notes": list(self.notes),
            "fingerprint": self.fingerprint,
        }


def to_data(value: Any) -> Any:
    """Dataclasses -> dicts, tuples -> lists, recursively (JSON- and CEL-ready)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, ChangeFacts):
            out["lines"] = value.lines
        return out
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_data(v) for v in value]
    return value


def metrics_from_data(data: dict[str, Any]) -> Metrics:
    """Inverse of ``to_data`` for Metrics (used by the baseline cache)."""

    def part(cls: Any, key: str) -> Any:
        raw = data.get(key, {})
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})

    return Metrics(
        commit=data.get("commit", ""),
        tests=part(TestMetrics, "tests"),
        coverage=part(CoverageMetrics, "coverage"),
        complexity=part(ComplexityMetrics, "complexity"),
        lint=part(LintMetrics, "lint"),
        security=part(SecurityMetrics, "security"),
        goal=data.get("goal", 0.0),
        sandbox=data.get("sandbox", "bwrap"),
        seconds=data.get("seconds", 0.0),
    )
