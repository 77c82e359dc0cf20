"""Tampering with the machinery that measures a candidate, rather than with the tests.

``guard-runner-tampering`` (any changed Python file, new occurrences only): importing
pytest's or coverage's internals (``_pytest``, ``pluggy``, ``coverage``, ``pytest_cov``,
``py``), assigning to or ``setattr`` on ``pytest``/``_pytest``/``unittest``/``builtins``,
mutating ``sys.modules``, defining ``pytest_*`` hook functions or ``pytest_plugins``
(plugins outside the protected conftest.py files), ``sys.settrace``/``setprofile`` (the
hooks coverage relies on), ``atexit`` (runs after pytest wrote its report), reading
``sys.argv`` or naming the JUnit report in test code, rebinding ``AssertionError``,
and ``monkeypatch.setattr`` on those modules by string.

``guard-shadowing``: a new file that would be imported instead of a real module: a
module or package named like the measuring tools (``pytest``, ``_pytest``, ``coverage``,
``pluggy``, ``py``, ``bandit``, ``ruff``, ``radon``, ``sitecustomize``, ...) at the top
level or as its own name, a new
top-level module named like a standard-library or installed one, or any ``.pth`` file.
``python -m pytest`` puts the checkout first on ``sys.path``.

``guard-test-path-import``: non-test code that newly imports a module living at a test
path (``test_*``, ``*_test``, ``tests``/``test`` packages, ``conftest``). Test paths are
left out of complexity, coverage and security measurement, so code moved there would
vanish from the numbers while still running.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.metadata
import sys
from collections.abc import Iterator
from pathlib import PurePosixPath

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import Hit, aliases, new_hits, parse, qualified, source_of

RUNNER = GuardSpec(
    id="guard-runner-tampering",
    requirement="no code reaches into the test runner, coverage or the "
    "interpreter's import and trace machinery",
)
SHADOWING = GuardSpec(
    id="guard-shadowing",
    requirement="no new file shadows the test tools, the standard library or an installed package",
)
TEST_PATH_IMPORT = GuardSpec(
    id="guard-test-path-import",
    requirement="non-test code does not import modules that live at test paths",
)

_RUNNER_MODULES = frozenset({"_pytest", "pluggy", "coverage", "pytest_cov", "py", "atexit"})
_PATCHED_ROOTS = ("pytest", "_pytest", "unittest", "builtins", "coverage", "pluggy", "sys")
_SYS_MODULES_MUTATORS = frozenset(
    {"pop", "update", "setdefault", "clear", "__setitem__", "__delitem__", "popitem"}
)
_TRACE_CALLS = frozenset(
    {
        "sys.settrace",
        "sys.setprofile",
        "threading.settrace",
        "threading.setprofile",
        "sys.monitoring.register_callback",
        "sys.monitoring.use_tool_id",
        "atexit.register",
    }
)
_TOOL_NAMES = frozenset(
    {
        "pytest",
        "_pytest",
        "coverage",
        "pluggy",
        "py",
        "sitecustomize",
        "usercustomize",
        "pytest_cov",
        "iniconfig",
        "bandit",
        "ruff",
        "radon",
    }
)
_TEST_PARTS = ("tests", "test", "conftest")


def find_runner_tampering(files: list[FileVersion]) -> list[Finding]:
    findings = []
    for fv in files:
        if not fv.is_python or fv.new is None:
            continue
        detector = _test_runner_hits if fv.is_test else _runner_hits
        for hit in new_hits(parse(fv.old), parse(fv.new), detector):
            findings.append(
                Finding(
                    guard=RUNNER.id,
                    file=fv.path,
                    line=hit.line,
                    evidence=hit.text,
                    after=hit.key.split(":", 1)[-1],
                )
            )
    return findings


def _import_parts(path: PurePosixPath) -> tuple[str, ...]:
    """The path's parts from its ``sys.path`` root: ``src/`` is one in a src layout (the
    test runs put it first on ``PYTHONPATH``, before the standard library)."""
    parts = path.parts
    return parts[1:] if len(parts) > 1 and parts[0] == "src" else parts


def find_shadowing(files: list[FileVersion], base_files: list[str]) -> list[Finding]:
    existing_top = {_import_parts(PurePosixPath(f))[0].removesuffix(".py") for f in base_files}
    existing = set(base_files)
    findings = []
    for fv in files:
        if fv.new is None or fv.path in existing:
            continue
        path = PurePosixPath(fv.path)
        if path.suffix == ".pth":
            findings.append(
                Finding(
                    guard=SHADOWING.id,
                    file=fv.path,
                    evidence="a .pth file runs code at interpreter start",
                )
            )
            continue
        if path.suffix not in (".py", ".pyc", ".so") and path.name != "__init__.py":
            continue
        names = [*_import_parts(path)[:-1], path.stem]
        if path.stem == "__init__":
            names = names[:-1]
        if not names:
            continue
        # a sys.path root is the checkout (python -m) or a test directory (pytest's
        # rootdir-less import mode): the top-level name and the module's own name matter
        tool = next((n for n in (names[0], names[-1]) if n in _TOOL_NAMES), None)
        top = names[0]
        if tool is not None:
            findings.append(
                Finding(
                    guard=SHADOWING.id,
                    file=fv.path,
                    evidence=f"{tool!r} would shadow the test tooling",
                )
            )
        elif top not in existing_top and top not in _TEST_PARTS and top in _known_modules():
            findings.append(
                Finding(
                    guard=SHADOWING.id,
                    file=fv.path,
                    evidence=f"new top-level {top!r} shadows an installed or "
                    "standard-library module",
                )
            )
    return findings


def find_test_path_imports(files: list[FileVersion]) -> list[Finding]:
    findings = []
    for fv in files:
        if not fv.is_python or fv.new is None or fv.is_test:
            continue
        for hit in new_hits(parse(fv.old), parse(fv.new), _test_path_hits):
            findings.append(
                Finding(guard=TEST_PATH_IMPORT.id, file=fv.path, line=hit.line, evidence=hit.text)
            )
    return findings


def _runner_hits(tree: ast.AST) -> Iterator[Hit]:
    names = aliases(tree)
    for node in ast.walk(tree):
        hit = _runner_hit(node, names)
        if hit is not None:
            yield hit


def _test_runner_hits(tree: ast.AST) -> Iterator[Hit]:
    """In test code also: reading sys.argv (where the report file is named) and naming the
    JUnit report."""
    names = aliases(tree)
    for node in ast.walk(tree):
        hit = _runner_hit(node, names) or _report_hit(node, names)
        if hit is not None:
            yield hit


def _report_hit(node: ast.AST, names: dict[str, str]) -> Hit | None:
    if isinstance(node, ast.Constant):
        text = node.value
        if isinstance(text, str) and "junit" in text.lower():
            return Hit(f"junit:{text}", node.lineno, "test code names the JUnit report")
    elif isinstance(node, ast.Attribute | ast.Name) and qualified(node, names) in (
        "sys.argv",
        "sys.orig_argv",
    ):
        return Hit(f"argv:{source_of(node)}", node.lineno, "test code reads sys.argv")
    return None


def _runner_hit(node: ast.AST, names: dict[str, str]) -> Hit | None:
    if isinstance(node, ast.Import | ast.ImportFrom):
        modules = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if not node.level
            else []
        )
        for module in modules:
            if module.split(".")[0] in _RUNNER_MODULES:
                return Hit(f"import:{module}", node.lineno, f"imports {module}")
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        if node.name.startswith("pytest_"):
            return Hit(f"hook:{node.name}", node.lineno, f"defines pytest hook {node.name}")
    elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            hit = _patched_target(target, names)
            if hit is not None:
                return hit
    elif isinstance(node, ast.Call):
        name = qualified(node.func, names) or ""
        if name in _TRACE_CALLS:
            return Hit(f"call:{name}", node.lineno, f"calls {name}")
        if name.startswith("sys.modules.") and name.rsplit(".", 1)[-1] in _SYS_MODULES_MUTATORS:
            return Hit(f"call:{source_of(node)}", node.lineno, f"mutates sys.modules: {name}")
        if name.endswith(("setattr", "delattr")) and node.args:
            target = node.args[0]
            text = target.value if isinstance(target, ast.Constant) else qualified(target, names)
            if isinstance(text, str) and text.split(".")[0] in _PATCHED_ROOTS:
                return Hit(
                    f"setattr:{source_of(node)}",
                    node.lineno,
                    f"patches {text}: {source_of(node)[:80]}",
                )
    return None


def _patched_target(target: ast.expr, names: dict[str, str]) -> Hit | None:
    if isinstance(target, ast.Name):
        if target.id in ("pytest_plugins", "AssertionError", "__builtins__"):
            return Hit(f"assign:{target.id}", target.lineno, f"assigns {target.id}")
        return None
    if isinstance(target, ast.Subscript):
        if qualified(target.value, names) == "sys.modules":
            return Hit(
                f"assign:{source_of(target)}",
                target.lineno,
                f"mutates sys.modules: {source_of(target)}",
            )
        return None
    name = qualified(target, names) if isinstance(target, ast.Attribute) else None
    if name and name.split(".")[0] in _PATCHED_ROOTS:
        return Hit(f"assign:{name}", target.lineno, f"assigns {name}")
    return None


def _test_path_hits(tree: ast.AST) -> Iterator[Hit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            modules = [base] + [f"{base}.{a.name}".lstrip(".") for a in node.names]
        else:
            continue
        for module in modules:
            if any(_is_test_part(part) for part in module.split(".") if part):
                yield Hit(
                    f"import:{module}", node.lineno, f"imports {module}, which lives at a test path"
                )
                break


def _is_test_part(part: str) -> bool:
    return part in _TEST_PARTS or part.startswith("test_") or part.endswith("_test")


@functools.cache
def _known_modules() -> frozenset[str]:
    """Standard-library module names plus the top-level names of installed packages."""
    names = set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    with contextlib.suppress(Exception):  # a broken distribution must not break the guard
        names |= set(importlib.metadata.packages_distributions())
    return frozenset(names)
