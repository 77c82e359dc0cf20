"""The gate is protected as a whole: every module the decision imports (transitively,
function-level imports included) matches a protected path, and the real patcher refuses
an edit to any of them — including a module added to a gate package later."""

from __future__ import annotations

import pytest

from engine.gate.boundary import DECISION_ROOTS, GATE
from engine.gate.paths import is_protected, matches
from engine.model import Edit
from engine.patching.plan import PlanRefused, apply_plan
from tests.import_graph import ROOT, file_of, imports_of


def _with_parents(modules: set[str]) -> set[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too: they count."""
    out: set[str] = set()
    for name in modules:
        parts = name.split(".")
        out |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {m for m in out if file_of(m) is not None}


def decision_closure() -> set[str]:
    seen: set[str] = set()
    todo = list(DECISION_ROOTS)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += sorted(_with_parents(imports_of(module)) - seen)
    return seen


def _rel(module: str) -> str:
    file = file_of(module)
    assert file is not None
    return file.relative_to(ROOT).as_posix()


def test_the_decision_roots_exist_and_reach_the_whole_gate() -> None:
    closure = decision_closure()
    for must in ("engine.gate.policy.engine", "engine.gate.guards", "engine.gate.evaluation"):
        assert must in closure
    assert len(closure) > 30


@pytest.mark.parametrize("module", sorted(decision_closure()))
def test_every_module_the_decision_imports_is_protected(module: str) -> None:
    assert is_protected(_rel(module)), f"{_rel(module)} is on the decision path but editable"


@pytest.mark.parametrize("module", sorted(decision_closure()))
def test_the_patcher_refuses_an_edit_to_every_decision_module(module: str) -> None:
    rel = _rel(module)
    text = (ROOT / rel).read_text(encoding="utf-8")
    result = apply_plan(
        lambda f: text if f == rel else None,
        (Edit(file=rel, op="rewrite", code=text + "\nWEAKENED = True\n"),),
        scope=("**/*.py",),
    )
    assert isinstance(result, PlanRefused)
    assert any("protected" in r.reason for r in result.reasons), result.reasons


@pytest.mark.parametrize(
    "path",
    [
        "engine/gate/new_module.py",
        "engine/gate/guards/extra.py",
        "engine/cycle/shortcut.py",
        "engine/vcs/bypass.py",
        "engine/model/extra.py",
        "engine/config/loader2.py",
    ],
)
def test_a_new_module_inside_a_gate_package_is_protected_by_construction(path: str) -> None:
    assert matches(path, GATE)
    result = apply_plan(
        lambda f: None,
        (Edit(file=path, op="create", code="X = 1\n"),),
        scope=("**/*.py",),
    )
    assert isinstance(result, PlanRefused)


@pytest.mark.parametrize(
    "path", ["engine/providers/ruff.py", "engine/patching/transform.py", "engine/cli/output.py"]
)
def test_code_outside_the_gate_stays_improvable(path: str) -> None:
    assert not is_protected(path)
