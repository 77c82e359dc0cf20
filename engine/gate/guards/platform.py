"""``guard-platform-branch-removed``: a change that deletes code which runs only on another
platform (or interpreter) — a branch on ``sys.platform``, ``os.name``, ``platform.system()``,
``sys.version_info`` and the like.

Such a branch cannot run in the sandbox, so no test here can notice it is gone: deleting it
raises coverage and lowers complexity while breaking the code elsewhere. ``ratchet audit``'s
coverage trap found the gate merging exactly that. A change that keeps as many platform
tests as the base version passes; one that has fewer (per file, outside the tests) fails:
``review``, and a goal may allow it (``platform-branch``) when dropping a platform is meant.
"""

from __future__ import annotations

import ast

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import parse

PLATFORM_BRANCH = GuardSpec(
    id="guard-platform-branch-removed",
    requirement="no branch that only runs on another platform or Python is removed",
    on_fail="review",
    aliases=("platform-branch",),
)

_PLATFORM_NAMES = frozenset(
    {
        "sys.platform",
        "os.name",
        "sys.version_info",
        "sys.implementation",
        "sys.getwindowsversion",
        "platform.system",
        "platform.machine",
        "platform.python_implementation",
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    }
)


def find_removed_platform_branches(files: list[FileVersion]) -> list[Finding]:
    findings = []
    for fv in files:
        if not fv.is_python or fv.is_test or fv.old is None:
            continue
        old = _platform_tests(parse(fv.old))
        new = _platform_tests(parse(fv.new)) if fv.new is not None else []
        if len(new) < len(old):
            kept = {text for _, text in new}
            gone = [(line, text) for line, text in old if text not in kept] or old[:1]
            line, text = gone[0]
            findings.append(
                Finding(
                    guard=PLATFORM_BRANCH.id,
                    file=fv.path,
                    line=line,
                    evidence=(
                        f"removes a platform branch ({len(old)} -> {len(new)} platform tests): "
                        "code that cannot run here, so no test sees it go"
                    ),
                    before=text,
                )
            )
    return findings


def _platform_tests(module: ast.Module | None) -> list[tuple[int, str]]:
    """(line, source) of every ``if``/``while``/conditional expression testing the platform."""
    if module is None:
        return []
    out = []
    for node in ast.walk(module):
        if isinstance(node, ast.If | ast.IfExp | ast.While | ast.Assert) and _mentions(node.test):
            out.append((node.lineno, ast.unparse(node.test)))
    return out


def _mentions(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Attribute | ast.Name) and _dotted(node) in _PLATFORM_NAMES:
            return True
    return False


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""
