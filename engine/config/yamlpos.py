"""YAML that remembers where everything was: ``(line, col)`` for every key and value.

We compose the document with PyYAML's safe loader (``yaml.compose`` semantics: no arbitrary
objects; libyaml's when available) and walk the node tree ourselves, so each value keeps
its 1-based position and duplicate keys, which PyYAML silently lets win, are reported
instead.

:func:`load_yaml` never raises: it returns a :class:`YamlDoc` whose ``issues`` list syntax
errors (with the parser's line/col), duplicate keys, and documents over the limits of
``config.bounds`` (depth, aliases, expanded size: checked on the event stream *before*
anything is composed, so a billion-laughs file costs milliseconds). ``data`` is None when
the text cannot be parsed at all. Values a constructor refuses (a 5,000-digit integer, a
timestamp with month 13) are issues at their position, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.config.bounds import FAST_LOADER, MAX_NODES, LimitExceeded, prescan
from engine.config.quiet_yaml import yaml
from engine.errors import ConfigIssue

KeyPath = tuple[str | int, ...]  # ("goals", 1, "priority")

_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
# libyaml's syntax messages are terser than PyYAML's ("did not find expected node content"
# vs "expected the node content, but found '<stream end>'"): for texts this small the pure
# Python parser is re-run to word the error (it stops where the error is, in well under 1 s).
_REWORD_LIMIT = 32 * 1024


@dataclass(frozen=True)
class Pos:
    line: int
    col: int


@dataclass(frozen=True)
class YamlDoc:
    """Plain data (dicts, lists, scalars) plus the position of each key and value."""

    file: str
    data: Any
    values: dict[KeyPath, Pos] = field(default_factory=dict)
    keys: dict[KeyPath, Pos] = field(default_factory=dict)
    issues: tuple[ConfigIssue, ...] = ()

    def value_pos(self, path: KeyPath) -> Pos:
        """Where the value at ``path`` starts; the nearest located ancestor otherwise."""
        for end in range(len(path), -1, -1):
            pos = self.values.get(path[:end])
            if pos:
                return pos
        return Pos(1, 1)

    def key_pos(self, path: KeyPath) -> Pos:
        """Where the key naming ``path`` is written; falls back to :meth:`value_pos`."""
        return self.keys.get(path) or self.value_pos(path)


def load_yaml(text: str, file: str) -> YamlDoc:
    """Parse ``text`` (the contents of ``file``, a repo-relative name used in messages)."""
    try:
        prescan(text)
        loader = FAST_LOADER(text)
        try:
            walker = _Walker(file, loader)
            root = loader.get_single_node()
            data = walker.walk(root, ()) if root is not None else None
        finally:
            loader.dispose()
    except LimitExceeded as exc:
        return _failed(file, _located(file, exc.mark, f"refused: {exc.problem}", exc.fix))
    except yaml.MarkedYAMLError as exc:  # syntax errors, and tags the safe loader refuses
        return _failed(file, _syntax_issue(file, _reworded(text, exc)))
    except yaml.YAMLError as exc:  # errors without a position (rare: reader errors)
        issue = _located(file, None, f"not valid YAML: {_first_line(exc)}", "fix the syntax")
        return _failed(file, issue)
    except (RecursionError, MemoryError):  # the limits should make these unreachable
        issue = _located(file, None, "too deeply nested or too large to parse", "simplify it")
        return _failed(file, issue)
    return YamlDoc(
        file=file,
        data=data,
        values=walker.values,
        keys=walker.keys,
        issues=tuple(walker.issues),
    )


def _failed(file: str, issue: ConfigIssue) -> YamlDoc:
    return YamlDoc(file=file, data=None, issues=(issue,))


def _reworded(text: str, exc: yaml.MarkedYAMLError) -> yaml.MarkedYAMLError:
    """PyYAML's wording of the error when ``text`` is small enough to re-parse quickly."""
    if FAST_LOADER is yaml.SafeLoader or len(text) > _REWORD_LIMIT:
        return exc
    loader = yaml.SafeLoader(text)
    try:
        loader.get_single_node()
    except yaml.MarkedYAMLError as slow:
        return slow
    except (yaml.YAMLError, RecursionError, MemoryError):
        return exc
    finally:
        loader.dispose()
    return exc


def render_path(path: KeyPath) -> str:
    """``("goals", 1, "priority")`` -> ``goals[1].priority``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


class _Walker:
    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.values: dict[KeyPath, Pos] = {}
        self.keys: dict[KeyPath, Pos] = {}
        self.issues: list[ConfigIssue] = []
        self.visits = 0

    def walk(self, node: yaml.Node, path: KeyPath) -> Any:
        self.visits += 1
        if self.visits > MAX_NODES:  # prescan makes this unreachable; a second fence
            raise LimitExceeded(
                node.start_mark, f"too many values: more than {MAX_NODES}", "shorten it"
            )
        self.values[path] = _pos(node.start_mark)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            # Scalars with odd tags fail in construct_object; collections we walk ourselves.
            self._issue(self.values[path], path, f"unsupported YAML tag '{node.tag}'", "remove it")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, TypeError, OverflowError, yaml.YAMLError) as exc:
            # int() of 5,000 digits, a timestamp with month 13, ...: the value is unusable.
            self._issue(_pos(node.start_mark), path, f"unreadable value: {_first_line(exc)}")
            return None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first: dict[Any, Pos] = {}
        for key_node, value_node in node.value:
            pos = _pos(key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self._issue(pos, path, "a key must be a plain name, not a list or mapping")
                continue
            key = self._scalar(key_node, path)
            key = key if isinstance(key, str) else str(key)
            if key in first:
                line = first[key].line
                self._issue(
                    pos,
                    (*path, key),
                    f"duplicate key '{key}' (first at line {line})",
                    "keep one of them",
                )
                continue
            first[key] = pos
            self.keys[(*path, key)] = pos
            out[key] = self.walk(value_node, (*path, key))
        return out

    def _issue(self, pos: Pos, path: KeyPath, problem: str, fix: str = "") -> None:
        self.issues.append(
            ConfigIssue(self.file, pos.line, pos.col, render_path(path), problem, fix)
        )


def _pos(mark: Any) -> Pos:
    return Pos(mark.line + 1, mark.column + 1)


def _located(file: str, mark: Any, problem: str, fix: str) -> ConfigIssue:
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return ConfigIssue(file, line, col, "(file)", problem, fix)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].split("; ")[0][:200] if text else type(exc).__name__


def _syntax_issue(file: str, exc: yaml.MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "syntax error"
    if exc.context:
        problem = f"{exc.context}, {problem}"
    tab = "'\\t'" in problem or "tab character" in problem
    fix = "indent with spaces, not tabs" if tab else "fix the syntax"
    return ConfigIssue(file, line, col, "(file)", f"invalid YAML: {problem}", fix)
