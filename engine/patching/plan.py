"""Apply a whole edit plan to a repository's files, in memory, and judge it.

:func:`apply_plan` reads files through a callable and writes nothing: the caller
writes :attr:`PlanApplied.files` into a candidate worktree. It never raises on a bad
plan; it returns :class:`PlanRefused` with one :class:`Refusal` per problem found,
so that a model can be told everything that was wrong at once.

Refusal kinds:

==========  ==================================================================
path        the file name is unsafe (:func:`engine.gate.paths.check_path`)
scope       the file is outside the goal's scope
protected   the file is protected and ``allow_protected`` is false
invalid, missing, exists, symbol, search, parse, binary, internal
            the edit failed (see :mod:`engine.patching.transform`)
size        a resulting file is larger than ``max_file_bytes``
empty       the plan has no edits, or they change nothing (index -1)
too-large   the diff has more than ``max_diff_lines`` added + removed lines (index -1)
==========  ==================================================================

Scope: a non-empty ``scope`` is a list of globs; an empty scope admits every ``*.py``
file. Protection is judged separately (kind ``protected``), so that with
``allow_protected`` a protected file inside the scope can be edited and is reported
in :attr:`PlanApplied.protected` for the rules to see.

Edits apply in order and chain per file. After an edit to a file fails, later edits
to that file are not tried (their errors would only echo the first one), but their
path, scope and protection are still checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.errors import InputError
from engine.gate.change import count_lines, touched_symbols, unified_diff
from engine.gate.paths import check_path, is_protected, is_test_file, matches
from engine.model import ChangeFacts, Edit
from engine.patching.transform import EditFailed, apply_edit

Reader = Callable[[str], str | None]


@dataclass(frozen=True)
class Refusal:
    """Why edit ``index`` (0-based; -1 for the plan as a whole) was refused."""

    index: int
    file: str
    kind: str
    reason: str

    def render(self) -> str:
        where = f"edit {self.index + 1} ({self.file})" if self.index >= 0 else "plan"
        return f"{where}: {self.kind}: {self.reason}"


@dataclass(frozen=True)
class PlanApplied:
    """The plan's net effect. ``files``: new text of every changed file."""

    files: dict[str, str]
    protected: tuple[str, ...]
    diff: str
    diff_lines: int
    original: dict[str, str | None] = field(default_factory=dict)  # None: created
    added: int = 0
    removed: int = 0
    symbols: tuple[str, ...] = ()  # "path::Qual.name", sorted

    def change_facts(self) -> ChangeFacts:
        """The ``change`` the rules see (static guard findings are added elsewhere)."""
        files = tuple(sorted(self.files))
        return ChangeFacts(
            files=files,
            lines_added=self.added,
            lines_removed=self.removed,
            symbols=self.symbols,
            protected=self.protected,
            tests_touched=tuple(f for f in files if is_test_file(f)),
            empty=not files,
        )


@dataclass(frozen=True)
class PlanRefused:
    reasons: tuple[Refusal, ...]

    def render(self) -> str:
        """One refusal per line: the text fed back to a model or shown to a human."""
        return "\n".join(r.render() for r in self.reasons)


PlanResult = PlanApplied | PlanRefused


def apply_plan(
    read: Reader,
    edits: Sequence[Edit],
    *,
    scope: Sequence[str],
    protected_extra: Sequence[str] = (),
    allow_protected: bool = False,
    max_file_bytes: int = 512 * 1024,
    max_diff_lines: int = 2000,
) -> PlanResult:
    """Apply ``edits`` to the texts ``read(path)`` returns (None: no such file)."""
    if not edits:
        return PlanRefused((Refusal(-1, "", "empty", "the plan has no edits"),))
    refusals: list[Refusal] = []
    original: dict[str, str | None] = {}
    current: dict[str, str | None] = {}
    broken: set[str] = set()
    for index, edit in enumerate(edits):
        file = edit.file
        problems = _check_file(file, scope, protected_extra, allow_protected)
        refusals.extend(Refusal(index, file, kind, reason) for kind, reason in problems)
        if any(kind == "path" for kind, _ in problems) or file in broken:
            continue
        if file not in current:
            text = _read(read, file)
            if isinstance(text, Refusal):
                refusals.append(Refusal(index, file, text.kind, text.reason))
                broken.add(file)
                continue
            original[file] = current[file] = text
        result = apply_edit(current[file], edit)
        if isinstance(result, EditFailed):
            refusals.append(Refusal(index, file, result.kind, result.reason))
            broken.add(file)
            continue
        size = len(result.source.encode("utf-8"))
        if size > max_file_bytes:
            reason = f"{file} would be {size} bytes; the limit is {max_file_bytes}"
            refusals.append(Refusal(index, file, "size", reason))
            broken.add(file)
            continue
        current[file] = result.source
    if refusals:
        return PlanRefused(tuple(refusals))
    return _judge(original, current, protected_extra, max_diff_lines)


def _judge(
    original: dict[str, str | None],
    current: dict[str, str | None],
    protected_extra: Sequence[str],
    max_diff_lines: int,
) -> PlanResult:
    changed = {f: text for f, text in current.items() if text is not None and text != original[f]}
    if not changed:
        return PlanRefused((Refusal(-1, "", "empty", "the edits change nothing"),))
    before = {f: original[f] for f in changed}
    diff = unified_diff(before, changed)
    added, removed = count_lines(diff)
    if added + removed > max_diff_lines:
        reason = f"the diff has {added + removed} changed lines; the limit is {max_diff_lines}"
        return PlanRefused((Refusal(-1, "", "too-large", reason),))
    symbols = tuple(
        f"{f}::{name}"
        for f in sorted(changed)
        for name in touched_symbols(f, before[f], changed[f])
    )
    return PlanApplied(
        files=changed,
        protected=tuple(f for f in sorted(changed) if is_protected(f, protected_extra)),
        diff=diff,
        diff_lines=added + removed,
        original=before,
        added=added,
        removed=removed,
        symbols=symbols,
    )


def _check_file(
    file: str, scope: Sequence[str], extra: Sequence[str], allow_protected: bool
) -> list[tuple[str, str]]:
    """Path, scope and protection problems of one edit's file, as (kind, reason)."""
    unsafe = check_path(file)
    if unsafe is not None:
        return [("path", unsafe)]
    problems = []
    if not (matches(file, scope) if scope else file.endswith(".py")):
        wanted = ", ".join(scope) if scope else "*.py files"
        problems.append(("scope", f"{file} is outside the goal's scope ({wanted})"))
    if not allow_protected and is_protected(file, extra):
        problems.append(("protected", f"{file} is protected; a human must change it"))
    return problems


def _read(read: Reader, file: str) -> str | None | Refusal:
    try:
        return read(file)
    except UnicodeDecodeError:
        return Refusal(-1, file, "binary", f"{file} is not UTF-8 text")
    except OSError as exc:
        return Refusal(-1, file, "path", f"{file} cannot be read: {exc.strerror or exc}")
    except InputError as exc:  # the reader refuses symlinks and escapes from the worktree
        return Refusal(-1, file, "path", str(exc))
