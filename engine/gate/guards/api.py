"""``guard-api-change``: a candidate that breaks a public import or call (default: review).

A **public module** is a non-test ``.py`` file whose dotted name (the path without a
leading ``src/``, without ``.py`` and ``/__init__``) has no component starting with ``_``
and only identifiers as components. Its **API** is every name ``from M import N`` (or
``M.N``) finds: whatever is bound at module level — ``def``, ``class``, assignments,
``import``/``from ... import`` (imported names are re-exports, in ``__all__`` or not) —
except ``_private`` names (dunders such as ``__version__`` count), ``from __future__``
imports and names bound only under ``if TYPE_CHECKING:``. Bindings inside module-level
``if``/``try``/``with``/``for`` blocks count; a module-level ``del`` unbinds.

Findings, comparing each changed module's base and candidate text (static, nothing runs):

- the module is deleted or renamed away (``import M`` fails), listing its names;
- names no longer bound (a package's submodule file still answers ``from pkg import sub``);
- names dropped from a literal ``__all__`` (``from M import *`` no longer gives them);
- a ``from x import *`` removed: whatever it re-exported is gone (conservatively, without
  resolving ``x``);
- names a module lost that a public module of the base re-exports with ``from M import *``
  (one level: ``pkg/__init__.py`` doing ``from ._impl import *``);
- incompatible signatures of public callables (:mod:`.signatures`).

A goal accepts API changes with ``allow: [api-change]``. Limits: module ``__getattr__``,
names injected through ``globals()``, and chains of star imports beyond one level are not
followed; a name the candidate moves into a star-imported module is still reported.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import parse
from engine.gate.guards.signatures import (
    incompatibilities,
    is_public_name,
    public_callables,
    render,
)
from engine.gate.paths import is_test_file

API_CHANGE = GuardSpec(
    id="guard-api-change",
    requirement="every public import and call that worked before still works",
    on_fail="review",
    aliases=("api-change",),
)
_NOT_API = frozenset({"__all__", "__getattr__", "__dir__", "__doc__", "__path__"})
MAX_STAR_SCAN = 2_000  # base files read when looking for star-importers


@dataclass
class Surface:
    """What one module binds at module level: name -> line, star-imported modules, and
    ``__all__`` when it is a literal list/tuple of strings (None otherwise)."""

    names: dict[str, int] = field(default_factory=dict)
    stars: dict[str, int] = field(default_factory=dict)
    all_names: tuple[str, ...] | None = None

    def public(self) -> set[str]:
        return {n for n in self.names if is_public_name(n) and n not in _NOT_API}

    def exported(self) -> set[str]:
        """What ``from M import *`` gives (explicit names only)."""
        if self.all_names is not None:
            return set(self.all_names)
        return {n for n in self.names if not n.startswith("_")}


def module_name(path: str) -> str | None:
    """``src/pkg/mod.py`` -> ``pkg.mod``, ``pkg/__init__.py`` -> ``pkg``; None for test
    files and paths that cannot be imported."""
    if not path.endswith(".py") or is_test_file(path):
        return None
    parts = path[:-3].split("/")
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def is_public_module(path: str) -> bool:
    """True for a non-test module with no ``_``-prefixed component in its dotted name."""
    name = module_name(path)
    return name is not None and not any(p.startswith("_") for p in name.split("."))


def surface(tree: ast.Module, module: str, *, package: bool) -> Surface:
    """The module-level bindings of ``tree`` (``module`` resolves relative star imports)."""
    out = Surface()
    _bind(tree.body, out, module, package, top=True)
    return out


def find_api_changes(
    files: Iterable[FileVersion],
    base_files: Iterable[str],
    read_base: Callable[[str], str | None],
) -> list[Finding]:
    """Every API break of the candidate (see the module docstring)."""
    files = list(files)
    base_set = set(base_files)
    head_files = (base_set - {f.old_path or f.path for f in files if f.new is None}) | {
        f.path for f in files if f.new is not None
    }
    head_files -= {f.old_path for f in files if f.old_path and f.status == "R"}
    findings: list[Finding] = []
    lost_by_module: dict[str, set[str]] = {}
    for fv in files:
        old_path = fv.old_path or fv.path
        old_module = module_name(old_path)
        if fv.old is None or old_module is None or not fv.is_python:
            continue
        old_tree = parse(fv.old)
        if old_tree is None:
            continue
        package = old_path.endswith("__init__.py")
        before = surface(old_tree, old_module, package=package)
        new_tree = parse(fv.new) if fv.new is not None and fv.path == old_path else None
        after = (
            surface(new_tree, old_module, package=package) if new_tree is not None else Surface()
        )
        lost = before.exported() - after.names.keys() if new_tree is not None else before.exported()
        lost_by_module[old_module] = lost
        if not is_public_module(old_path):
            continue
        if new_tree is None:
            findings.append(_module_gone(fv, old_module, before))
            continue
        findings += _compare(fv, old_module, before, after, head_files)
        findings += _signatures(fv, old_module, old_tree, new_tree)
    changed = {f.old_path or f.path for f in files}
    findings += _star_importers(lost_by_module, base_set - changed, read_base)
    return findings


def _module_gone(fv: FileVersion, module: str, before: Surface) -> Finding:
    names = sorted(before.public())
    how = "deleted" if fv.new is None else f"moved to {fv.path}"
    shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
    return Finding(
        guard=API_CHANGE.id,
        file=fv.old_path or fv.path,
        evidence=f"module {module} {how}: `import {module}` fails"
        + (f" (it bound {shown})" if names else ""),
        names=(module, *(f"{module}.{n}" for n in names)),
    )


def _compare(
    fv: FileVersion, module: str, before: Surface, after: Surface, head_files: set[str]
) -> list[Finding]:
    out: list[Finding] = []
    package_dir = fv.path.rsplit("/", 1)[0] if fv.path.endswith("__init__.py") else None
    gone = sorted(
        n
        for n in before.public() - after.names.keys()
        if not (package_dir and _is_submodule(package_dir, n, head_files))
    )
    if gone:
        out.append(
            Finding(
                guard=API_CHANGE.id,
                file=fv.path,
                line=before.names[gone[0]],
                evidence=f"`from {module} import {', '.join(gone)}` would fail "
                "(no longer bound at module level)",
                before=", ".join(gone),
                names=tuple(f"{module}.{n}" for n in gone),
            )
        )
    if before.all_names is not None and after.all_names is not None:
        dropped = sorted(set(before.all_names) - set(after.all_names) - set(gone))
        if dropped:
            out.append(
                Finding(
                    guard=API_CHANGE.id,
                    file=fv.path,
                    evidence=f"__all__ of {module} drops {', '.join(dropped)}: "
                    f"`from {module} import *` no longer gives them",
                    names=tuple(f"{module}.{n}" for n in dropped),
                )
            )
    for star, line in sorted(before.stars.items()):
        if star not in after.stars:
            out.append(
                Finding(
                    guard=API_CHANGE.id,
                    file=fv.path,
                    line=line,
                    evidence=f"`from {star} import *` removed from {module}: every name it "
                    "re-exported is gone",
                    names=(f"{module}.*({star})",),
                )
            )
    return out


def _signatures(fv: FileVersion, module: str, old: ast.Module, new: ast.Module) -> list[Finding]:
    out: list[Finding] = []
    before, after = public_callables(old), public_callables(new)
    for name, old_node in before.items():
        if old_node is None or name not in after and "." not in name:
            continue  # a class itself, or a removed top-level name (reported above)
        cls = name.split(".")[0]
        if "." in name and cls not in after:
            continue  # the class is gone: reported above
        new_node = after.get(name)
        qualified = f"{module}.{name}"
        if new_node is None:
            out.append(
                Finding(
                    guard=API_CHANGE.id,
                    file=fv.path,
                    line=old_node.lineno,
                    evidence=f"public method {qualified} removed",
                    before=render(name, old_node),
                    names=(qualified,),
                )
            )
            continue
        problems = incompatibilities(old_node, new_node, method="." in name)
        if problems:
            out.append(
                Finding(
                    guard=API_CHANGE.id,
                    file=fv.path,
                    line=new_node.lineno,
                    evidence=f"signature of {qualified} changed: {'; '.join(problems)}",
                    before=render(name, old_node),
                    after=render(name, new_node),
                    names=(qualified,),
                )
            )
    return out


def _star_importers(
    lost_by_module: dict[str, set[str]], unchanged: set[str], read_base: Callable[[str], str | None]
) -> list[Finding]:
    """Public, unchanged base modules that re-export a changed module's lost names with
    ``from M import *``."""
    wanted = {m: names for m, names in lost_by_module.items() if names}
    if not wanted:
        return []
    out: list[Finding] = []
    candidates = sorted(p for p in unchanged if p.endswith(".py") and is_public_module(p))
    for path in candidates[:MAX_STAR_SCAN]:
        text = read_base(path)
        if not text or "import *" not in text:
            continue
        tree = parse(text)
        module = module_name(path)
        if tree is None or module is None:
            continue
        importer = surface(tree, module, package=path.endswith("__init__.py"))
        for star, line in importer.stars.items():
            lost = sorted(wanted.get(star, set()) - importer.names.keys())
            if lost:
                out.append(
                    Finding(
                        guard=API_CHANGE.id,
                        file=path,
                        line=line,
                        evidence=f"`from {module} import {', '.join(lost)}` would fail: "
                        f"{star} (re-exported here by `from {star} import *`) lost them",
                        names=tuple(f"{module}.{n}" for n in lost),
                    )
                )
    return out


def _is_submodule(package_dir: str, name: str, head_files: set[str]) -> bool:
    return f"{package_dir}/{name}.py" in head_files or f"{package_dir}/{name}/__init__.py" in (
        head_files
    )


def _bind(body: list[ast.stmt], out: Surface, module: str, package: bool, *, top: bool) -> None:
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.names[stmt.name] = stmt.lineno
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                _bind_target(target, out)
            if _is_all(stmt.targets):
                out.all_names = _literal_names(stmt.value)
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            if isinstance(stmt, ast.AugAssign) or stmt.value is not None:
                _bind_target(stmt.target, out)
            if isinstance(stmt, ast.AugAssign) and _is_all([stmt.target]):
                extra = _literal_names(stmt.value)
                out.all_names = (
                    None if extra is None or out.all_names is None else out.all_names + extra
                )
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                out.names[alias.asname or alias.name.split(".")[0]] = stmt.lineno
        elif isinstance(stmt, ast.ImportFrom):
            if stmt.module == "__future__":
                continue
            for alias in stmt.names:
                if alias.name == "*":
                    out.stars[_absolute(module, package, stmt.level, stmt.module)] = stmt.lineno
                else:
                    out.names[alias.asname or alias.name] = stmt.lineno
        elif isinstance(stmt, ast.If):
            if not _is_type_checking(stmt.test):
                _bind(stmt.body, out, module, package, top=False)
            _bind(stmt.orelse, out, module, package, top=False)
        elif isinstance(stmt, ast.Try | ast.TryStar):
            for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse):
                _bind(block, out, module, package, top=False)
            _bind(stmt.finalbody, out, module, package, top=False)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                if item.optional_vars is not None:
                    _bind_target(item.optional_vars, out)
            _bind(stmt.body, out, module, package, top=False)
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
            if not isinstance(stmt, ast.While):
                _bind_target(stmt.target, out)
            _bind(stmt.body, out, module, package, top=False)
            _bind(stmt.orelse, out, module, package, top=False)
        elif isinstance(stmt, ast.Delete) and top:
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    out.names.pop(target.id, None)


def _bind_target(target: ast.expr, out: Surface) -> None:
    if isinstance(target, ast.Name):
        out.names[target.id] = target.lineno
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _bind_target(element, out)
    elif isinstance(target, ast.Starred):
        _bind_target(target.value, out)


def _is_all(targets: list[ast.expr]) -> bool:
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _literal_names(value: ast.expr) -> tuple[str, ...] | None:
    if not isinstance(value, ast.List | ast.Tuple):
        return None
    names = [e.value for e in value.elts if isinstance(e, ast.Constant)]
    if len(names) != len(value.elts) or not all(isinstance(n, str) for n in names):
        return None
    return tuple(str(n) for n in names)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(module: str, package: bool, level: int, target: str | None) -> str:
    """The absolute module a (possibly relative) ``from ... import *`` names."""
    if not level:
        return target or ""
    parts = module.split(".") if package else module.split(".")[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, *([target] if target else [])])
