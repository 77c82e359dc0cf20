"""What a measurement of one commit found: tests, coverage, complexity, lint, security.

Plain nested dataclasses so that the rule engine sees them as maps
(``candidate.tests.failed``, ``delta.coverage.percent``) through :func:`engine.model.to_data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
