"""What every guard shares: a finding with its evidence, the guard's identity, the outcome a
list of findings becomes, and the changed files of a candidate (old and new text).

A guard is a pure function from facts to findings; :func:`outcome` turns the findings into
the :class:`~engine.model.RuleOutcome` the cycle records. A goal may accept a guard's
findings by listing the guard id in its ``allow`` (goals.yaml is written by humans and is a
protected path, so a candidate cannot grant itself that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from engine.gate.paths import is_test_file
from engine.model import ChangeFacts, Directives, Metrics, RuleOutcome
from engine.vcs import Repository

T = TypeVar("T")

ALLOWED = "allowed by the goal"  # how a passed-because-allowed outcome's detail starts
MAX_FINDINGS = 20  # kept in a record per guard; the count says how many there were
MAX_SNIPPET = 160  # characters of before/after evidence


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One piece of evidence: where, what, and the text before and after the change."""

    guard: str
    file: str
    line: int = 0
    evidence: str
    before: str = ""
    after: str = ""
    names: tuple[str, ...] = ()  # what the finding is about, e.g. public API names

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "guard": self.guard,
            "file": self.file,
            "line": self.line,
            "evidence": self.evidence,
        }
        if self.names:
            data["names"] = list(self.names)
        if self.before:
            data["before"] = _clip(self.before)
        if self.after:
            data["after"] = _clip(self.after)
        return data

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.evidence}"


@dataclass(frozen=True, kw_only=True)
class GuardSpec:
    """A guard's identity: its id (``guard-*``), what passing means, its default
    ``on_fail``, and whether a goal's ``allow`` may accept its findings (by the id or by one
    of ``aliases``, e.g. ``api-change`` for ``guard-api-change``)."""

    id: str
    requirement: str  # "no test is deleted or renamed away"
    on_fail: Literal["reject", "review"] = "reject"
    allowable: bool = True
    aliases: tuple[str, ...] = ()

    def allowed_by(self, allow: Iterable[str]) -> bool:
        """True when the goal's allow list accepts this guard's findings."""
        given = set(allow)
        return self.allowable and (self.id in given or any(a in given for a in self.aliases))


def outcome(
    spec: GuardSpec,
    findings: Sequence[Finding],
    allow: Iterable[str] = (),
    *,
    on_fail: Literal["reject", "review"] | None = None,
) -> RuleOutcome:
    """The recorded outcome: failed with the evidence when there are findings (unless the
    goal allows this guard), passed otherwise. ``on_fail`` overrides the spec's default
    (``guard-protected-paths`` takes it from directives)."""
    allowed = bool(findings) and spec.allowed_by(allow)
    if not findings:
        detail = f"ok: {spec.requirement}"
    else:
        shown = "; ".join(f.render() for f in findings[:3])
        more = f" (+{len(findings) - 3} more)" if len(findings) > 3 else ""
        prefix = ALLOWED if allowed else "violated"
        detail = f"{prefix}: {spec.requirement}: {shown}{more}"
    values: dict[str, Any] = {
        "count": len(findings),
        "allowed": allowed,
        "findings": [f.to_data() for f in findings[:MAX_FINDINGS]],
    }
    if names := sorted({n for f in findings for n in f.names}):
        values["names"] = names
    return RuleOutcome(
        id=spec.id,
        passed=not findings or allowed,
        on_fail=on_fail or spec.on_fail,
        detail=detail,
        values=values,
    )


@dataclass(frozen=True, kw_only=True)
class FileVersion:
    """One changed file: ``status`` is git's letter (A, M, D, R, C, T); ``old``/``new`` are
    the texts before and after (None where the file does not exist on that side)."""

    path: str
    status: str
    old_path: str | None = None
    old: str | None = None
    new: str | None = None

    @property
    def is_python(self) -> bool:
        return self.path.endswith(".py") or (self.old_path or "").endswith(".py")

    @property
    def is_test(self) -> bool:
        return is_test_file(self.path)

    @property
    def was_test(self) -> bool:
        return is_test_file(self.old_path or self.path)


def changed_versions(repo: Repository, base: str, head: str) -> list[FileVersion]:
    """Every file the candidate changed, with both texts, renames detected."""
    out = []
    for change in repo.changed_files(base, head):
        old_path = change.old_path or change.path
        old = None if change.status.startswith("A") else repo.show_file(base, old_path)
        new = None if change.status.startswith("D") else repo.show_file(head, change.path)
        out.append(
            FileVersion(
                path=change.path,
                status=change.status[:1],
                old_path=change.old_path,
                old=old,
                new=new,
            )
        )
    return out


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 3] + "..."


@dataclass(frozen=True, kw_only=True)
class GuardFacts:
    """Everything a guard may read about one candidate: the changed files (both texts),
    the files tracked at the base, both measurements, the change, the directives, and
    ``read_base`` for the base text of any tracked file (None when it does not exist).
    ``memo`` shares one expensive scan between the guards that report its parts."""

    files: tuple[FileVersion, ...] = ()
    base_files: tuple[str, ...] = ()
    baseline: Metrics = field(default_factory=Metrics)
    candidate: Metrics = field(default_factory=Metrics)
    change: ChangeFacts = field(default_factory=ChangeFacts)
    directives: Directives = field(default_factory=Directives)
    read_base: Callable[[str], str | None] = field(default=lambda _path: None, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per facts object (an exception is raised again each time)."""
        if key not in self._memo:
            self._memo[key] = compute()
        value: T = self._memo[key]
        return value
