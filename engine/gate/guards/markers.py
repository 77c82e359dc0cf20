"""New ways of not running tests, of ending the test run, and of hiding lines from the
measurements, found by comparing each changed Python file with its base version.

``guard-tests-skipped``: a new skip/xfail mark (``@pytest.mark.skip``/``skipif``/``xfail``,
``@unittest.skip*``/``expectedFailure``), a new ``pytest.skip``/``xfail``/``importorskip``
or ``skipTest`` call, ``raise SkipTest``, a new or changed ``pytestmark``, ``__test__ =
False`` or ``collect_ignore``.

``guard-test-exit``: ``pytest.exit``, ``sys.exit``, ``exit``/``quit``, ``raise SystemExit``
or ``KeyboardInterrupt`` in test code; ``os._exit``/``os.abort`` anywhere (they end the
test process without a verdict).

``guard-coverage-pragma``: a new ``# pragma: no cover`` / ``no branch`` (any spelling
coverage's default exclusion accepts).

``guard-suppression``: a new ``# nosec``, ``# noqa``, ``# type: ignore`` or ``# pylint:
disable`` comment: silencing bandit or ruff instead of fixing what they report.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import Hit, aliases, comments, new_hits, parse, qualified, source_of

SKIPPED = GuardSpec(
    id="guard-tests-skipped",
    requirement="no test is newly skipped, marked xfail or hidden from collection",
)
EXIT = GuardSpec(id="guard-test-exit", requirement="no code ends the test run early")
PRAGMA = GuardSpec(
    id="guard-coverage-pragma", requirement="no line is newly excluded from coverage"
)
SUPPRESSION = GuardSpec(
    id="guard-suppression", requirement="no new nosec/noqa/type-ignore suppression comment"
)

_SKIP_DECORATORS = (
    "mark.skip",
    "mark.skipif",
    "mark.xfail",
    "unittest.skip",
    "unittest.skipIf",
    "unittest.skipUnless",
    "unittest.expectedFailure",
)
_SKIP_CALLS = (
    "pytest.skip",
    "pytest.xfail",
    "pytest.importorskip",
    "unittest.skip",
    "unittest.skipIf",
    "unittest.skipUnless",
)
_HIDING_NAMES = ("pytestmark", "__test__", "collect_ignore", "collect_ignore_glob")
_TEST_EXITS = (
    "pytest.exit",
    "sys.exit",
    "exit",
    "quit",
    "os._exit",
    "os.abort",
    "os.kill",
    "signal.raise_signal",
)
_ANY_EXITS = ("os._exit", "os.abort")
_PRAGMA = re.compile(r"#\s*(pragma|PRAGMA)[:\s]?\s*(no|NO)\s*(cover|COVER|branch|BRANCH)")
_SUPPRESS = re.compile(
    r"#\s*(nosec|noqa|type:\s*ignore|pylint:\s*disable|ruff:\s*noqa)", re.IGNORECASE
)


def find_skips(files: list[FileVersion]) -> list[Finding]:
    return _scan(files, SKIPPED.id, _skip_hits, tests_only=False)


def find_exits(files: list[FileVersion]) -> list[Finding]:
    findings = _scan(files, EXIT.id, _test_exit_hits, tests_only=True)
    others = [fv for fv in files if not fv.is_test]
    return findings + _scan(others, EXIT.id, _any_exit_hits, tests_only=False)


def find_pragmas(files: list[FileVersion]) -> list[Finding]:
    return _comment_scan(files, PRAGMA.id, _PRAGMA, "coverage exclusion added")


def find_suppressions(files: list[FileVersion]) -> list[Finding]:
    return _comment_scan(files, SUPPRESSION.id, _SUPPRESS, "suppression comment added")


def _scan(
    files: list[FileVersion], guard: str, detector: object, *, tests_only: bool
) -> list[Finding]:
    findings = []
    for fv in files:
        if not fv.is_python or fv.new is None or (tests_only and not fv.is_test):
            continue
        old = parse(fv.old)
        for hit in new_hits(old, parse(fv.new), detector):  # type: ignore[arg-type]
            findings.append(
                Finding(
                    guard=guard,
                    file=fv.path,
                    line=hit.line,
                    evidence=hit.text,
                    after=hit.key.split(":", 1)[-1],
                )
            )
    return findings


def _skip_hits(tree: ast.AST) -> Iterator[Hit]:
    names = aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for deco in node.decorator_list:
                name = qualified(deco, names) or ""
                if name.endswith(_SKIP_DECORATORS) and name.startswith(("pytest", "unittest")):
                    text = source_of(deco)
                    yield Hit(f"{node.name}:@{text}", deco.lineno, f"@{text} added to {node.name}")
        elif isinstance(node, ast.Call):
            name = qualified(node.func, names) or ""
            if name in _SKIP_CALLS or name.endswith(".skipTest"):
                yield Hit(f"call:{source_of(node)}", node.lineno, f"{source_of(node)} added")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            name = qualified(node.exc, names) or ""
            if name.endswith(("SkipTest", "skip.Exception", "Skipped")):
                yield Hit(f"raise:{source_of(node)}", node.lineno, f"{source_of(node)} added")
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in _HIDING_NAMES:
                    yield Hit(
                        f"assign:{source_of(node)}", node.lineno, f"{source_of(node)[:80]} added"
                    )


def _test_exit_hits(tree: ast.AST) -> Iterator[Hit]:
    yield from _exit_hits(tree, _TEST_EXITS, raises=True)


def _any_exit_hits(tree: ast.AST) -> Iterator[Hit]:
    yield from _exit_hits(tree, _ANY_EXITS, raises=False)


def _exit_hits(tree: ast.AST, calls: tuple[str, ...], *, raises: bool) -> Iterator[Hit]:
    names = aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (qualified(node.func, names) or "") in calls:
            yield Hit(f"call:{source_of(node)}", node.lineno, f"{source_of(node)} added")
        elif raises and isinstance(node, ast.Raise) and node.exc is not None:
            name = qualified(node.exc, names) or ""
            if name.split(".")[-1] in ("SystemExit", "KeyboardInterrupt"):
                yield Hit(f"raise:{source_of(node)}", node.lineno, f"{source_of(node)} added")


def _comment_scan(
    files: list[FileVersion], guard: str, pattern: re.Pattern[str], what: str
) -> list[Finding]:
    findings = []
    for fv in files:
        if not fv.is_python or fv.new is None:
            continue
        before = Counter(_norm(text) for _, text in comments(fv.old) if pattern.search(text))
        seen: Counter[str] = Counter()
        for line, text in comments(fv.new):
            if not pattern.search(text):
                continue
            key = _norm(text)
            seen[key] += 1
            if seen[key] > before[key]:
                code = _line(fv.new, line)
                findings.append(
                    Finding(
                        guard=guard,
                        file=fv.path,
                        line=line,
                        evidence=f"{what}: {text.strip()}",
                        after=code,
                    )
                )
    return findings


def _norm(comment: str) -> str:
    return " ".join(comment.lower().split())


def _line(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""
