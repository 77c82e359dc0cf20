"""Edit plans as data: read them from YAML/JSON files or dicts, write them back.

The shape (ARCHITECTURE.md, "The edit plan")::

    summary: one line, the commit subject        (required, non-empty)
    rationale: the commit body                   (optional)
    provider: name / model: name                 (optional)
    question: what the goal leaves unclear       (optional: the goal cannot be acted on)
    edits:                                       (required, may be empty; with a
      - {file, op, symbol, after, code, search, replace}   question: absent or empty)

Fields each op needs: ``replace`` symbol + code; ``insert`` code (``after`` optional);
``delete`` symbol; ``add_import`` / ``create`` / ``rewrite`` code; ``search_replace``
search + replace; ``patch`` code (a unified diff of the file). ``code`` may be empty
only for ``create`` and ``rewrite`` (an empty file). A field the op does not use must
be absent, null or empty. Unknown keys, wrong types and unknown ops are errors too;
every problem is reported at once as a :class:`~engine.errors.ConfigError` whose
issues point at the exact line and column.

Paths are not judged here: an unsafe ``file`` is the patcher's to refuse, so that a
hostile plan is recorded as refused rather than failing to load.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from engine.errors import ConfigError, ConfigIssue
from engine.model import EDIT_OPS, Edit, EditOp, Proposal

TOP_KEYS: tuple[str, ...] = ("summary", "rationale", "edits", "provider", "model", "question")
EDIT_KEYS: tuple[str, ...] = ("file", "op", "symbol", "after", "code", "search", "replace")
# op -> (required fields, optional fields); every other edit field must be unused.
OP_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "replace": (("symbol", "code"), ()),
    "insert": (("code",), ("after",)),
    "delete": (("symbol",), ()),
    "add_import": (("code",), ()),
    "create": (("code",), ()),
    "search_replace": (("search", "replace"), ()),
    "patch": (("code",), ()),
    "rewrite": (("code",), ()),
}
_MAY_BE_EMPTY = {("create", "code"), ("rewrite", "code"), ("search_replace", "replace")}


@dataclass(frozen=True)
class _Node:
    """A value with the position (1-based; 0 = unknown) it was read from."""

    value: Any  # str/int/bool/None | list[_Node] | dict[str, tuple[_Node, _Node]]
    line: int = 0
    col: int = 0


def load_plan(path: Path) -> Proposal:
    """Read the edit plan in ``path`` (YAML or JSON). Raises ConfigError when invalid."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            ConfigIssue(source, 0, 0, "plan", f"cannot read the plan file: {exc}", "check the path")
        ) from exc
    return _validate(_compose(text, source), source)


def plan_from_data(data: dict[str, Any], source: str) -> Proposal:
    """Validate an already-decoded plan (e.g. a model's JSON answer); positions are 0."""
    return _validate(_wrap(data), source)


def plan_to_data(p: Proposal) -> dict[str, Any]:
    """The plan as plain data; ``plan_from_data`` of it gives back ``p`` (usage aside)."""
    edits = []
    for edit in p.edits:
        item: dict[str, Any] = {"file": edit.file, "op": edit.op}
        for key in EDIT_KEYS[2:]:
            value = getattr(edit, key)
            if value is not None:
                item[key] = value
        edits.append(item)
    data: dict[str, Any] = {"summary": p.summary, "rationale": p.rationale, "edits": edits}
    if p.provider:
        data["provider"] = p.provider
    if p.model:
        data["model"] = p.model
    if p.question:
        data["question"] = p.question
    return data


# --------------------------------------------------------------------------- reading


def _compose(text: str, source: str) -> _Node:
    try:
        return _compose_yaml(text)
    except yaml.YAMLError as exc:
        error = exc
    try:
        json.loads(text)
    except ValueError:
        pass
    else:
        # Valid JSON that YAML rejects: PyYAML refuses tabs between tokens. Outside
        # strings (where JSON forbids raw tabs) a space means the same, at the same column.
        try:
            return _compose_yaml(text.replace("\t", " "))
        except yaml.YAMLError:
            pass
    mark = getattr(error, "problem_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = str(getattr(error, "problem", None) or error).strip()
    raise ConfigError(ConfigIssue(source, line, col, "plan", f"not valid YAML/JSON: {problem}"))


def _compose_yaml(text: str) -> _Node:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return _Node(None) if node is None else _convert(loader, node)
    finally:
        loader.dispose()


def _convert(loader: yaml.SafeLoader, node: yaml.Node) -> _Node:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        items: dict[Any, tuple[_Node, _Node]] = {}
        dupes: list[_Node] = []
        for key_node, value_node in node.value:
            key = _convert(loader, key_node)
            if _hashable(key.value) in items:
                dupes.append(key)
            items[_hashable(key.value)] = (key, _convert(loader, value_node))
        return _Node(_Mapping(items, tuple(dupes)), line, col)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(loader, item) for item in node.value], line, col)
    return _Node(loader.construct_object(node, deep=True), line, col)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


@dataclass(frozen=True)
class _Mapping:
    items: dict[Any, tuple[_Node, _Node]]
    duplicates: tuple[_Node, ...] = ()


def _wrap(data: Any) -> _Node:
    if isinstance(data, dict):
        items = {_hashable(k): (_Node(k), _wrap(v)) for k, v in data.items()}
        return _Node(_Mapping(items))
    if isinstance(data, list | tuple):
        return _Node([_wrap(item) for item in data])
    return _Node(data)


# --------------------------------------------------------------------------- validating


class _Checker:
    """Collects issues while reading one plan."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[ConfigIssue] = []

    def issue(self, node: _Node, field: str, problem: str, fix: str = "") -> None:
        self.issues.append(ConfigIssue(self.source, node.line, node.col, field, problem, fix))

    def sorted(self) -> list[ConfigIssue]:
        """Issues in file order (a stable sort: dict input, all at line 0, keeps its order)."""
        return sorted(self.issues, key=lambda i: (i.line, i.col))

    def mapping(self, node: _Node, field: str, known: tuple[str, ...]) -> dict[str, _Node] | None:
        """The string-keyed entries of a mapping node, flagging unknown/duplicate keys."""
        if not isinstance(node.value, _Mapping):
            self.issue(node, field, f"expected a mapping, got {_kind(node.value)}")
            return None
        out: dict[str, _Node] = {}
        for key in node.value.duplicates:
            self.issue(key, _join(field, str(key.value)), "duplicate key", "keep only one")
        for key, value in node.value.items.values():
            name = key.value
            if not isinstance(name, str):
                self.issue(key, field, f"keys must be strings, got {_kind(name)}")
            elif name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                self.issue(key, _join(field, name), "unknown key", fix)
            else:
                out[name] = value
        return out

    def text(
        self, node: _Node | None, field: str, at: _Node, *, required: bool, empty_ok: bool
    ) -> str | None:
        """A string field; None when absent, null, or empty where that is not allowed.

        ``at`` is where a missing required field is reported (its parent mapping).
        """
        if node is None or node.value is None:
            if required:
                self.issue(node or at, field, "missing")
            return None
        if not isinstance(node.value, str):
            self.issue(node, field, f"expected a string, got {_kind(node.value)}", "quote it")
            return None
        if not node.value.strip() and not empty_ok:
            if required:
                self.issue(node, field, "must not be empty")
            return None
        return node.value


def _validate(root: _Node, source: str) -> Proposal:
    check = _Checker(source)
    top = check.mapping(root, "plan", TOP_KEYS) if root.value is not None else None
    if root.value is None:
        check.issue(root, "plan", "the plan is empty", "write summary: and edits:")
    if top is None:
        raise ConfigError(check.sorted())
    summary = check.text(top.get("summary"), "summary", root, required=True, empty_ok=False)
    if summary is not None and "\n" in summary.strip():
        one_line = "must be one line (it becomes the commit subject)"
        check.issue(top["summary"], "summary", one_line, "put the details in rationale")
    optional = {"required": False, "empty_ok": True}
    rationale = check.text(top.get("rationale"), "rationale", root, **optional)
    provider = check.text(top.get("provider"), "provider", root, **optional)
    model = check.text(top.get("model"), "model", root, **optional)
    question = (check.text(top.get("question"), "question", root, **optional) or "").strip()
    edits: list[Edit] = []
    edits_node = top.get("edits")
    if edits_node is None and question:
        pass  # a question stands for the plan: there is nothing to edit yet
    elif edits_node is None:
        check.issue(root, "edits", "missing", "add edits: [] when there is nothing to do")
    elif question and edits_node.value not in (None, []):
        check.issue(edits_node, "edits", "a plan that asks a question edits nothing", "edits: []")
    elif not isinstance(edits_node.value, list):
        check.issue(edits_node, "edits", f"expected a list, got {_kind(edits_node.value)}")
    else:
        for index, item in enumerate(edits_node.value):
            edit = _edit(check, item, f"edits[{index}]")
            if edit is not None:
                edits.append(edit)
    if check.issues:
        raise ConfigError(check.sorted())
    assert summary is not None
    return Proposal(
        summary=summary.strip(),
        rationale=rationale or "",
        edits=tuple(edits),
        provider=provider or "",
        model=model or "",
        question=question,
    )


def _edit(check: _Checker, node: _Node, field: str) -> Edit | None:
    before = len(check.issues)
    entries = check.mapping(node, field, EDIT_KEYS)
    if entries is None:
        return None
    must = {"required": True, "empty_ok": False}
    file = check.text(entries.get("file"), f"{field}.file", node, **must)
    op = check.text(entries.get("op"), f"{field}.op", node, **must)
    if op is None:
        return None
    if op not in OP_FIELDS:
        close = difflib.get_close_matches(op, EDIT_OPS, n=1)
        fix = (f"did you mean {close[0]!r}? " if close else "") + f"ops: {', '.join(EDIT_OPS)}"
        check.issue(entries["op"], f"{field}.op", f"unknown op {op!r}", fix)
        return None
    required, optional = OP_FIELDS[op]
    values: dict[str, str | None] = {}
    for key in EDIT_KEYS[2:]:
        value_node = entries.get(key)
        name = f"{field}.{key}"
        if key in required:
            empty_ok = (op, key) in _MAY_BE_EMPTY
            values[key] = check.text(value_node, name, node, required=True, empty_ok=empty_ok)
        elif key in optional:
            values[key] = check.text(value_node, name, node, required=False, empty_ok=False)
        elif value_node is not None and value_node.value not in (None, ""):
            check.issue(value_node, name, f"not used by op {op!r}", "remove it")
    if len(check.issues) > before or file is None:
        return None
    return Edit(file=file, op=cast(EditOp, op), **values)


def _join(field: str, key: str) -> str:
    return key if field == "plan" else f"{field}.{key}"


def _kind(value: Any) -> str:
    if isinstance(value, _Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"
