"""Build a model's context for one proposal request within a token budget.

The context has up to eight sections, each with a share of ``directives.context_tokens``
(tokens counted with :func:`~engine.providers.transport.estimate_tokens`, ~4 chars each),
in two parts:

- the **stable prefix** (repo map, target code, covering tests), drawn only from the goal
  and the files at the target tip, within a fixed share (:data:`STABLE_SHARE`) of the
  budget: it is byte-identical for every attempt and cycle at the same tip, so a server's
  prefix cache (llama.cpp, vLLM, OpenAI, Gemini) answers it without recomputing;
- the **volatile tail** (lessons, rejected attempts, the previous attempt's failure), which
  changes between attempts and cycles and therefore comes after it, within the rest.

============================  =====================================================
repo map                      signatures of the in-scope files (then names of other
                              modules) — what the two below leave of the prefix
target code                   source of the goal's target symbols (<= 55% of the prefix)
covering tests                test functions that mention the targets (<= 20% of it)
lessons                       memory-bank lessons, newest kept (<= 7% of the budget)
goal's lessons                distilled from the goal's records (<= 3%; when present)
rejected attempts             why earlier attempts were rejected, newest kept (<= 4%)
already tried                 the most similar past failures, any goal (<= 4%)
previous attempt's failure    the refine-loop feedback (<= 12%; middle cut when longer)
============================  =====================================================

Neither part's size depends on the other's content. Files are never cut mid-symbol: a
small file (``small_file_tokens``) goes in whole, a large one is represented by its
outline plus the whole source of the chosen symbols. Targets are chosen by:
``goal.options.symbols`` and the plan's sub-task (``request.focus``) first, then names
mentioned in the goal (not in the feedback: the targets must not move between
attempts), then the most complex functions (at most ``max_targets`` of those; none of a
test file unless the scope holds only tests). The section titles are data here; the
surrounding prompt text lives in ``prompts/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.gate.paths import sources_first
from engine.providers.base import ProposalRequest
from engine.providers.repomap import FileIndex, Symbol, collect_tests, index_source
from engine.providers.transport import estimate_tokens

_SKIP_DIRS = {"__pycache__", "node_modules", "venv", "build", "dist", "site-packages"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
MAX_FILE_BYTES = 400_000  # larger files are generated or data: outline them, never read whole
MAX_WALK_FILES = 2000
STABLE_SHARE = 70  # percent of the budget for the stable prefix; the tail's caps take the rest


@dataclass(frozen=True, kw_only=True)
class Section:
    title: str
    body: str

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.render())

    def render(self) -> str:
        return f"## {self.title}\n{self.body.rstrip()}\n"


@dataclass(frozen=True, kw_only=True)
class Context:
    """The chosen context and what it was drawn from.

    ``sections`` is the stable prefix, ``volatile`` the tail that may change between
    attempts and cycles (rendered after it).
    """

    sections: tuple[Section, ...]
    budget: int
    baseline_tokens: int  # the whole files the context draws from, as tokens
    symbols: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file -> qualnames
    targets: tuple[str, ...] = ()  # "file:qualname" (or "file" when included whole)
    volatile: tuple[Section, ...] = ()

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.sections + self.volatile)

    def render(self) -> str:
        """Both parts, the stable prefix first."""
        return "\n".join(s.render() for s in self.sections + self.volatile)

    def render_stable(self) -> str:
        return "\n".join(s.render() for s in self.sections)

    def render_volatile(self) -> str:
        return "\n".join(s.render() for s in self.volatile)

    @property
    def all_symbols(self) -> tuple[str, ...]:
        return tuple(sorted({q for names in self.symbols.values() for q in names}))


@dataclass(frozen=True, kw_only=True)
class _Item:
    key: str
    text: str
    score: float
    names: tuple[str, ...] = ()


def build_context(
    request: ProposalRequest,
    *,
    budget: int | None = None,
    small_file_tokens: int = 400,
    max_targets: int = 6,
) -> Context:
    """Choose what the model sees for ``request`` (reads files under ``request.root``)."""
    total = request.directives.context_tokens if budget is None else budget
    indexes = [i for i in (_read_index(request.root, f) for f in request.files) if i]
    baseline = sum(estimate_tokens(i.text) for i in indexes)

    tail: list[Section] = []
    if request.answers:  # the human's word on what the goal means: never cut
        tail.append(
            Section(
                title="Answers to your questions",
                body="\n".join(f"- {a.strip()}" for a in request.answers),
            )
        )
    if request.lessons:
        tail.append(_list_section("Lessons from earlier work", request.lessons, total * 7 // 100))
    if request.goal_lessons:
        title = "Lessons distilled from this goal's records"
        tail.append(_list_section(title, request.goal_lessons, total * 3 // 100, newest=False))
    if request.history:
        tail.append(
            _list_section("Why earlier attempts were rejected", request.history, total * 4 // 100)
        )
    if request.similar:
        title = "Already tried, and why it failed (similar past attempts, any goal)"
        tail.append(_list_section(title, request.similar, total * 4 // 100, newest=False))
    if request.feedback:
        title = f"Why attempt {request.attempt - 1} failed — fix this"
        tail.append(Section(title=title, body=_clip(request.feedback, total * 12 // 100)))
    # Fixed, not "whatever the tail leaves": a longer failure must not shift the prefix.
    rest = total * STABLE_SHARE // 100

    mentioned = _mentions(request)
    items = _target_items(indexes, request, mentioned, small_file_tokens, max_targets)
    chosen, target_text = _fit(items, rest * 55 // 100)
    sections: list[Section] = []
    names = {n for item in chosen for n in item.names}
    test_files: set[str] = set()
    test_text = ""
    if names:
        tests = _test_items(request.root, names)
        picked, test_text = _fit(tests, rest * 20 // 100)
        test_files = {t.key.split("::", 1)[0] for t in picked}
        baseline += sum(_file_tokens(request.root, f) for f in test_files)
    used = estimate_tokens(target_text) + estimate_tokens(test_text) + 40
    map_text = _repo_map(indexes, request, {i.key.split(":", 1)[0] for i in chosen}, rest - used)
    if map_text:
        sections.append(Section(title="Repository map (signatures)", body=map_text))
    if target_text:
        sections.append(Section(title="Target code", body=target_text))
    if test_text:
        sections.append(Section(title="Tests that cover it", body=test_text))
    return Context(
        sections=tuple(sections),
        volatile=tuple(tail),
        budget=total,
        baseline_tokens=baseline,
        symbols={i.file: tuple(s.qualname for s in i.symbols) for i in indexes},
        targets=tuple(item.key for item in chosen),
    )


# --------------------------------------------------------------------------- reading


def _read_index(root: Path, file: str) -> FileIndex | None:
    path = root / file
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not file.endswith(".py"):
        return FileIndex(file=file, text=text)
    return index_source(file, text)


def _file_tokens(root: Path, file: str) -> int:
    try:
        return estimate_tokens((root / file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return 0


def _walk_py(root: Path) -> list[str]:
    """Repository-relative ``*.py`` paths, skipping hidden and environment directories."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        rel = Path(dirpath).relative_to(root)
        out.extend((rel / f).as_posix() for f in sorted(filenames) if f.endswith(".py"))
        if len(out) >= MAX_WALK_FILES:
            break
    return out


# --------------------------------------------------------------------------- choosing


def _mentions(request: ProposalRequest) -> set[str]:
    words = set(_WORD.findall(request.goal.description))
    return words | {w.rsplit(".", 1)[-1] for w in words}


def _target_items(
    indexes: Sequence[FileIndex],
    request: ProposalRequest,
    mentioned: set[str],
    small_file_tokens: int,
    max_targets: int,
) -> list[_Item]:
    explicit = {str(s) for s in request.goal.options.get("symbols", ()) or ()}
    explicit |= set(request.focus)  # the plan's sub-task (engine.cycle.plans)
    items: list[_Item] = []
    for index in indexes:
        file_named = index.file in explicit or index.file in request.goal.description

        def score(s: Symbol, index: FileIndex = index, file_named: bool = file_named) -> float:
            if s.qualname in explicit or f"{index.file}:{s.qualname}" in explicit:
                return 1000.0 + s.complexity
            if s.qualname in mentioned or s.name in mentioned:
                return 100.0 + s.complexity
            return (10.0 if file_named else 0.0) + s.complexity / 100.0

        if estimate_tokens(index.text) <= small_file_tokens or not index.symbols:
            if estimate_tokens(index.text) > small_file_tokens:
                continue  # a big file without symbols: its outline (none) says it all
            best = max((score(s) for s in index.symbols), default=0.0)
            names = tuple(s.name for s in index.symbols)
            items.append(_Item(key=index.file, text=_whole(index), score=best, names=names))
            continue
        for s in index.symbols:
            if s.kind == "class" and score(s) < 100:
                continue  # an unmentioned class: its methods compete on their own
            items.append(
                _Item(
                    key=f"{index.file}:{s.qualname}",
                    text=_snippet(index, s),
                    score=score(s),
                    names=(s.name,),
                )
            )
    items.sort(key=lambda i: (-i.score, i.key))
    strong = [i for i in items if i.score >= 10]
    weak = [i for i in items if i.score < 10]  # by complexity alone: code before its tests
    files = set(sources_first([i.key.split(":", 1)[0] for i in weak]))
    room = max(0, max_targets - len(strong))
    weak = [i for i in weak if i.key.split(":", 1)[0] in files][:room]
    return _drop_nested(strong + weak)


def _drop_nested(items: list[_Item]) -> list[_Item]:
    """A method whose class is already chosen whole is not repeated."""
    keys = {i.key for i in items}
    return [i for i in items if not any(i.key.startswith(k + ".") for k in keys)]


def _whole(index: FileIndex) -> str:
    return f"### {index.file} (whole file)\n```python\n{index.text.rstrip()}\n```\n"


def _snippet(index: FileIndex, s: Symbol) -> str:
    owner = s.qualname.rsplit(".", 1)[0] if s.depth else ""
    where = f", in class {owner}" if owner else ""
    return (
        f"### {index.file} lines {s.start}-{s.end}: {s.qualname}{where}\n"
        f"```python\n{index.source(s)}\n```\n"
    )


def _fit(items: Iterable[_Item], budget: int) -> tuple[list[_Item], str]:
    """Take whole items, best first, while they fit; never cut one."""
    chosen: list[_Item] = []
    used = 0
    for item in items:
        cost = estimate_tokens(item.text)
        if used + cost <= budget:
            chosen.append(item)
            used += cost
    return chosen, "\n".join(i.text for i in chosen)


def _test_items(root: Path, names: set[str]) -> list[_Item]:
    patterns = [re.compile(rf"\b{re.escape(n)}\b") for n in sorted(names) if len(n) > 2]
    items: list[_Item] = []
    for file in _walk_py(root):
        base = file.rsplit("/", 1)[-1]
        if not (base.startswith("test_") or base.endswith("_test.py")):
            continue
        try:
            text = (root / file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not any(p.search(text) for p in patterns):
            continue
        for node_id, source in collect_tests(file, text):
            hits = sum(1 for p in patterns if p.search(source))
            if hits:
                body = f"### {node_id}\n```python\n{source}\n```\n"
                items.append(_Item(key=node_id, text=body, score=hits - len(source) / 1e6))
    items.sort(key=lambda i: (-i.score, i.key))
    return items


# --------------------------------------------------------------------------- rendering


def _repo_map(
    indexes: Sequence[FileIndex], request: ProposalRequest, hot: set[str], budget: int
) -> str:
    """Outlines of in-scope files (targets' files first), then other modules by name."""
    ordered = sorted(indexes, key=lambda i: (i.file not in hot, i.file))
    for docs in (True, False):
        blocks = [f"{i.file}\n{i.outline(docs=docs)}".rstrip() for i in ordered]
        if estimate_tokens("\n".join(blocks)) <= budget:
            break
    out: list[str] = []
    used = 0
    for block in blocks:
        cost = estimate_tokens(block) + 1
        if used + cost > budget:
            left = [i.file for i in ordered[len(out) :]]
            out.append(f"(+{len(left)} more files in scope: {', '.join(left)})")
            return _clip("\n".join(out), budget)
        out.append(block)
        used += cost
    in_scope = {i.file for i in indexes}
    others = [
        f
        for f in _walk_py(request.root)
        if f not in in_scope
        and not f.rsplit("/", 1)[-1].startswith("test_")
        and not f.startswith("tests/")
    ]
    if others and used < budget:
        line = "Other modules (outside scope, read only): " + ", ".join(others)
        if estimate_tokens(line) + used <= budget:
            out.append(line)
        else:
            out.append(f"(+{len(others)} other modules outside the scope)")
    return "\n".join(out)


def _list_section(
    title: str, entries: Sequence[str], budget: int, *, newest: bool = True
) -> Section:
    """The newest entries that fit (entries are oldest first); ``newest=False``: the
    first entries that fit (entries are best first), kept in their order."""
    kept: list[str] = []
    used = 0
    for entry in reversed(entries) if newest else entries:
        line = f"- {_clip(entry.strip(), max(20, budget // 2))}"
        cost = estimate_tokens(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    dropped = len(entries) - len(kept)
    if not newest:
        tail = [f"- ({dropped} more omitted)"] if dropped else []
        return Section(title=title, body="\n".join(kept + tail))
    head = [f"- ({dropped} older entries omitted)"] if dropped else []
    return Section(title=title, body="\n".join(head + list(reversed(kept))))


def _clip(text: str, budget: int) -> str:
    """``text`` if it fits, else its first and last lines around a marker of what was cut."""
    if estimate_tokens(text) <= budget:
        return text
    chars = max(40, budget * 4 - 60)
    lines = text.splitlines()
    head: list[str] = []
    tail: list[str] = []
    size = 0
    while lines and size < chars:
        take_head = len(head) <= len(tail)
        line = lines.pop(0) if take_head else lines.pop()
        line = line if len(line) <= chars // 2 else line[: chars // 2] + " …"
        size += len(line) + 1
        (head if take_head else tail).append(line)
    if not lines:
        return "\n".join(head + list(reversed(tail)))
    marker = f"[... {len(lines)} lines cut to fit the token budget ...]"
    return "\n".join(head + [marker] + list(reversed(tail)))
