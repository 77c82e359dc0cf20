"""Tests deleted, renamed away or weakened: an AST comparison of every test function.

``guard-tests-deleted``: a test that existed in a test file of the base is gone from the
candidate (file deleted or renamed to a non-test path, function or class removed or
renamed, or shadowed by a second definition of the same name).

``guard-assertions-weakened``: for a test present on both sides, fewer real checks
(``assert`` statements that are not trivially true, ``assert*`` calls, ``pytest.raises``/
``warns``), fewer exact comparisons (``assert x == 3`` -> ``assert x``), a new trivially
true assert (``assert True``, ``assert x == x``, ``assert x or 1``) or a new way of
swallowing a failed check (``except AssertionError``, bare ``except``, ``except
Exception``, ``contextlib.suppress(AssertionError)``). A new test that checks nothing is
reported too: an empty test only pads the pass count.

``guard-assertions-changed`` (on_fail ``review``): for a test present on both sides, a check
rewritten with the same count — ``assert f(2) == 4`` -> ``assert f(2) == 5``, ``==`` -> ``<=``,
an expected exception swapped. Counting cannot tell a stricter check from one rewritten to
agree with broken code (an ``xfail`` test whose assertion is inverted and whose mark is
dropped passes again), so a human looks: a candidate may not redefine what "correct" means
unattended. Checks only added are not reported.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import FunctionNode, duplicate_tests, parse, source_of, test_functions

DELETED = GuardSpec(
    id="guard-tests-deleted", requirement="no test is deleted, renamed away or shadowed"
)
WEAKENED = GuardSpec(
    id="guard-assertions-weakened",
    requirement="no test loses or weakens its checks, and new tests check something",
)

CHANGED = GuardSpec(
    id="guard-assertions-changed",
    requirement="no existing test's check is rewritten (a human reviews one that is)",
    on_fail="review",
)

_EXACT_OPS = (ast.Eq, ast.Is, ast.In)
_CHECK_CALLS = ("raises", "warns", "deprecated_call", "approx", "fail")
_SWALLOWED = frozenset({"AssertionError", "Exception", "BaseException"})


@dataclass(frozen=True)
class Checks:
    """What one test function checks."""

    real: int = 0  # non-trivial asserts + assertion calls
    exact: int = 0  # asserts comparing with ==, is, in (and assertEqual-like calls)
    trivial: Counter[str] = field(default_factory=Counter)  # always-true asserts by source
    swallowed: Counter[str] = field(default_factory=Counter)  # handlers that eat failures
    lines: tuple[str, ...] = ()  # the checks, as source, for the evidence


def find_deleted(files: list[FileVersion]) -> list[Finding]:
    findings: list[Finding] = []
    for fv in files:
        if not fv.is_python or not fv.was_test:
            continue
        old_tree = parse(fv.old)
        if old_tree is None:
            continue
        new_tree = parse(fv.new) if fv.new is not None and fv.is_test else None
        before = test_functions(old_tree)
        after = test_functions(new_tree) if new_tree is not None else {}
        name = fv.old_path or fv.path
        how = _how_gone(fv)
        for test, node in before.items():
            if test not in after:
                findings.append(
                    Finding(
                        guard=DELETED.id,
                        file=name,
                        line=node.lineno,
                        evidence=f"test {test} {how}",
                        before=f"def {node.name}(...)",
                    )
                )
        if new_tree is not None:
            old_dups = duplicate_tests(old_tree)
            for test, count in duplicate_tests(new_tree).items():
                if count > 1 and count > old_dups[test]:
                    findings.append(
                        Finding(
                            guard=DELETED.id,
                            file=fv.path,
                            line=after[test].lineno,
                            evidence=f"test {test} is defined {count} times; only the last runs",
                        )
                    )
    return findings


def find_weakened(files: list[FileVersion]) -> list[Finding]:
    findings: list[Finding] = []
    for fv in files:
        if not fv.is_python or not fv.is_test or fv.new is None:
            continue
        new_tree = parse(fv.new)
        if new_tree is None:
            continue
        old_tree = parse(fv.old) if fv.was_test else None
        before = test_functions(old_tree) if old_tree is not None else {}
        for test, node in test_functions(new_tree).items():
            after = checks_of(node)
            if test in before:
                findings += _compare(fv.path, test, checks_of(before[test]), after, node)
            elif after.real == 0:
                findings.append(
                    Finding(
                        guard=WEAKENED.id,
                        file=fv.path,
                        line=node.lineno,
                        evidence=f"new test {test} checks nothing",
                        after=" / ".join(after.lines) or "(no assert)",
                    )
                )
    return findings


def find_changed(files: list[FileVersion]) -> list[Finding]:
    findings: list[Finding] = []
    for fv in files:
        if not fv.is_python or not fv.is_test or not fv.was_test or fv.new is None:
            continue
        old_tree, new_tree = parse(fv.old), parse(fv.new)
        if old_tree is None or new_tree is None:
            continue
        before = test_functions(old_tree)
        for test, node in test_functions(new_tree).items():
            if test not in before:
                continue
            old, new = checks_of(before[test]), checks_of(node)
            if new.real < old.real or new.exact < old.exact:
                continue  # fewer checks: guard-assertions-weakened reports it
            gone = Counter(old.lines) - Counter(new.lines)
            if not gone:
                continue
            added = Counter(new.lines) - Counter(old.lines)
            findings.append(
                Finding(
                    guard=CHANGED.id,
                    file=fv.path,
                    line=node.lineno,
                    evidence=f"test {test}: check rewritten: " + " / ".join(sorted(gone)),
                    before=" / ".join(sorted(gone)),
                    after=" / ".join(sorted(added)) or "(removed)",
                )
            )
    return findings


def checks_of(fn: FunctionNode) -> Checks:
    """Count the checks in a test function (nested helpers included)."""
    real = exact = 0
    trivial: Counter[str] = Counter()
    swallowed: Counter[str] = Counter()
    lines: list[str] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            text = source_of(node)
            lines.append(text)
            if _always_true(node.test):
                trivial[text] += 1
                continue
            real += 1
            if isinstance(node.test, ast.Compare) and any(
                isinstance(op, _EXACT_OPS) for op in node.test.ops
            ):
                exact += 1
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name.startswith("assert") or name in _CHECK_CALLS:
                real += 1
                lines.append(source_of(node))
                if "Equal" in name or name in ("assertIs", "assertIn"):
                    exact += 1
            if name == "suppress" and any(_exc_name(a) in _SWALLOWED for a in node.args):
                swallowed[source_of(node)] += 1
        elif isinstance(node, ast.ExceptHandler):
            caught = _handler_names(node.type)
            if not caught or caught & _SWALLOWED:
                swallowed["except " + (", ".join(sorted(caught)) or "(bare)")] += 1
    return Checks(real=real, exact=exact, trivial=trivial, swallowed=swallowed, lines=tuple(lines))


def _compare(path: str, test: str, old: Checks, new: Checks, node: FunctionNode) -> list[Finding]:
    problems = []
    if new.real < old.real:
        problems.append(f"checks {old.real} -> {new.real}")
    elif new.exact < old.exact:
        problems.append(f"exact comparisons {old.exact} -> {new.exact}")
    added_trivial = new.trivial - old.trivial
    if added_trivial:
        problems.append("always-true assert added: " + ", ".join(sorted(added_trivial)))
    added_swallow = new.swallowed - old.swallowed
    if added_swallow:
        problems.append("failures swallowed by: " + ", ".join(sorted(added_swallow)))
    if not problems:
        return []
    return [
        Finding(
            guard=WEAKENED.id,
            file=path,
            line=node.lineno,
            evidence=f"test {test}: " + "; ".join(problems),
            before=" / ".join(old.lines) or "(no check)",
            after=" / ".join(new.lines) or "(no check)",
        )
    ]


def _always_true(test: ast.expr) -> bool:
    """``assert True``/``assert 1``/``assert "x"``, ``assert x == x``, ``assert x or True``,
    ``assert not False``: asserts that can never fail."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return isinstance(test.operand, ast.Constant) and not test.operand.value
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return any(_always_true(v) for v in test.values)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        same = source_of(test.left) == source_of(test.comparators[0])
        return same and isinstance(test.ops[0], ast.Eq | ast.Is | ast.GtE | ast.LtE)
    if isinstance(test, ast.Tuple | ast.List):  # assert (x, "msg"): a non-empty tuple
        return bool(test.elts)
    return False


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _exc_name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _handler_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, ast.Tuple):
        return {_exc_name(e) for e in node.elts}
    return {_exc_name(node)}


def _how_gone(fv: FileVersion) -> str:
    if fv.status == "D":
        return "was deleted with its file"
    if fv.status == "R" and not fv.is_test:
        return f"was moved to a non-test path ({fv.path})"
    return "is gone (deleted or renamed)"
