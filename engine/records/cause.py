"""The cause of a rejection in one line, not the CEL dump.

:func:`cause` reads a cycle entry (a snapshot / journal dict, see
:mod:`engine.records.render`) and names, in this order of precedence:

1. a human's decision (``rejected by a human: <reason>``, ``reverted ...``);
2. the first failing test and its error line, from the JUnit output the evaluator kept
   (``tests failed: tests/test_geo.py: ImportError: cannot import name 'area' ...``) —
   the first failure the baseline did not share, when that one fails there too;
3. a guard's evidence (``guard-deleted-tests: tests/test_x.py::test_y removed``);
4. the metric a failed rule read that moved (``coverage-ratchet: coverage % 81.2 → 79.9``);
5. the failed rule's own sentence (an evaluation error in a rule, say), else the message.

A record written by :func:`engine.records.render.full_record` carries its cause (``cause``),
so an abridged snapshot without the rules' values still names it. Pure: no I/O. The values
every rule saw stay in the full record (``review show``, ``log --verbose``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.records.render import KEY_METRICS
from engine.records.view import number_at, short_number

_PATH = re.compile(r"\b(?:candidate|baseline|delta)\.([a-z_]+\.[a-z_]+)")
_LABELS = dict(KEY_METRICS) | {
    "coverage.num_statements": "statements",
    "coverage.covered_lines": "covered lines",
    "tests.errors": "test errors",
    "tests.skipped": "skipped tests",
    "tests.xfailed": "xfailed tests",
    "complexity.max": "max complexity",
    "complexity.mean": "mean complexity",
    "complexity.mi": "maintainability",
    "security.high": "bandit high",
}
_MAX = 240


def failed_rules(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The applicable rules that failed, in evaluation order."""
    rules = entry.get("rules") or []
    return [r for r in rules if r.get("applicable", True) and not r.get("passed")]


def cause(entry: Mapping[str, Any]) -> str:
    """Why this cycle did not merge (see the module docstring); "" when nothing failed."""
    human = entry.get("human") or {}
    if human.get("action"):
        reason = human.get("reason") or "no reason given"
        return f"{human['action']} by a human: {reason}"
    stored = entry.get("cause")
    if isinstance(stored, str):  # computed when the record was written, from the full entry
        return stored
    failed = failed_rules(entry)
    tests = (entry.get("candidate") or {}).get("tests") or {}
    broken = int(tests.get("failed") or 0) + int(tests.get("errors") or 0)
    tests_failed = (broken or tests.get("timed_out")) and any(_reads_tests(r) for r in failed)
    if tests_failed and tests.get("first_failure"):
        return _clip(_tests_cause(tests, broken, _baseline_failures(entry)))  # beats a guard
    for rule in failed:
        if str(rule.get("id", "")).startswith("guard-"):
            return _clip(f"{rule['id']}: {_own_detail(rule)}")
    if tests_failed:
        return _clip(_tests_cause(tests, broken, _baseline_failures(entry)))
    for rule in failed:
        moved = _moved_metrics(entry, rule)
        if moved and "error" not in _own_detail(rule).split(":", 1)[0]:
            return _clip(f"{rule['id']}: {moved}")
    if failed:
        return _clip(f"{failed[0]['id']}: {_own_detail(failed[0])}")
    return ""


def _baseline_failures(entry: Mapping[str, Any]) -> set[str]:
    tests = (entry.get("baseline") or {}).get("tests") or {}
    return {str(f) for f in tests.get("failures") or []}


def _tests_cause(tests: Mapping[str, Any], broken: int, known: set[str]) -> str:
    """The first failure; when its test fails on the baseline too (a shared failure the
    quarantine refused: its file was touched), the first one the candidate brought, with
    the shared one's error line after it."""
    first = str(tests.get("first_failure") or "")
    failures = [str(f) for f in tests.get("failures") or []]
    new = [f for f in failures if f not in known]
    if first and new and first.split(": ", 1)[0] in known:
        shared = len(failures) - len(new)
        more = f"+{broken - 1} more; " if broken > 1 else ""
        verb = "fails" if shared == 1 else "fail"
        return f"tests failed: {new[0]} ({more}{shared} {verb} on the baseline too: {first})"
    if not first:
        failures = tests.get("failures") or []
        first = str(failures[0]) if failures else "the test run failed"
        if tests.get("timed_out"):
            first += " (timed out)"
    more = f" (+{broken - 1} more)" if broken > 1 else ""
    return f"tests failed: {first}{more}"


def _reads_tests(rule: Mapping[str, Any]) -> bool:
    return "tests." in str(rule.get("detail", "")) or str(rule.get("id", "")).startswith("tests")


def _own_detail(rule: Mapping[str, Any]) -> str:
    detail = str(rule.get("detail", ""))
    prefix = f"{rule.get('id')}: "
    return detail[len(prefix) :] if detail.startswith(prefix) else detail


def _moved_metrics(entry: Mapping[str, Any], rule: Mapping[str, Any]) -> str:
    """``label before → after`` for each metric the rule's detail names that changed."""
    base = entry.get("baseline") or {}
    cand = entry.get("candidate") or {}
    shown: list[str] = []
    for path in dict.fromkeys(_PATH.findall(str(rule.get("detail", "")))):
        b, c = number_at(base, path), number_at(cand, path)
        if b is not None and c is not None and b != c:
            shown.append(f"{_LABELS.get(path, path)} {short_number(b)} → {short_number(c)}")
    return ", ".join(shown)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"
