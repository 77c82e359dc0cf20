"""The baseline's fitness to judge, and the adaptive timeout (tables)."""

from __future__ import annotations

import pytest

from engine.gate.health import adaptive_timeout, broken_baseline
from engine.model import Metrics, TestMetrics, Timeouts

SHA = "0123456789abcdef0123"
IMPORT_TAIL = "E   ImportError: cannot import name 'missing' from 'calc.ops'\n1 error in 0.1s"


def metrics(**tests: object) -> Metrics:
    return Metrics(commit=SHA, tests=TestMetrics(**tests))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        (metrics(passed=3, collected=3), None),
        (metrics(exit_code=5), None),  # no tests at all: nothing to break
        # one failing test among passing ones is quarantined, not a broken baseline
        (metrics(passed=3, failed=1, failures=("t.py::a",), exit_code=1), None),
        (
            metrics(errors=15, failures=("tests/test_a.py",), output_tail=IMPORT_TAIL, exit_code=2),
            "the tests fail on the target at 0123456789ab: 15 errors, first: ImportError: "
            "cannot import name 'missing' from 'calc.ops'; ratchet cannot judge changes until "
            "they pass — fix them or set test_command",
        ),
        (
            metrics(failed=2, failures=("t.py::a", "t.py::b"), exit_code=1),
            "the tests fail on the target at 0123456789ab: 2 failed, first: t.py::a; ratchet "
            "cannot judge changes until they pass — fix them or set test_command",
        ),
        # natsort 8.4.0: tests whose fixture needs a locale this machine lacks error in their
        # setup, each by its id, on an otherwise working suite: quarantined like failures
        (
            metrics(passed=274, errors=2, failures=("t.py::a[0]", "t.py::b"), exit_code=1),
            None,
        ),
        # ... but not an error without a test id, a crash, or errors of nothing that passed
        (
            metrics(
                passed=5,
                errors=1,
                failures=("t.py",),
                exit_code=1,
                output_tail="ERROR t.py - locale.Error: unsupported locale setting",
            ),
            "the tests fail on the target at 0123456789ab: 1 error, first: ERROR t.py - "
            "locale.Error: unsupported locale setting; ratchet cannot judge changes until "
            "they pass — fix them or set test_command",
        ),
        (
            metrics(passed=5, errors=1, failures=("t.py::a",), exit_code=2),
            "the tests fail on the target at 0123456789ab: 1 error, first: t.py::a; ratchet "
            "cannot judge changes until they pass — fix them or set test_command",
        ),
        (
            metrics(passed=5, errors=2, failures=("t.py::a",), exit_code=1),  # one unnamed
            "the tests fail on the target at 0123456789ab: 2 errors, first: t.py::a; ratchet "
            "cannot judge changes until they pass — fix them or set test_command",
        ),
        (
            metrics(errors=1, failures=("t.py::a",), exit_code=1),
            "the tests fail on the target at 0123456789ab: 1 error, first: t.py::a; ratchet "
            "cannot judge changes until they pass — fix them or set test_command",
        ),
        (
            metrics(errors=1, timed_out=True, time_limit=900.0),
            "the tests hang on the target at 0123456789ab: killed after 900 s; ratchet cannot "
            "judge changes until they pass — fix them or set test_command (or raise "
            "timeouts.tests)",
        ),
    ],
)
def test_broken_baseline(baseline: Metrics, message: str | None) -> None:
    assert broken_baseline(baseline) == message


USAGE_TAIL = (
    "ERROR: usage: __main__.py [options] [file_or_dir] [file_or_dir] [...]\n"
    "__main__.py: error: unrecognized arguments: {option}\n"
    "  inifile: /w/pyproject.toml\n  rootdir: /w"
)


@pytest.mark.parametrize(
    ("option", "fix"),
    [
        # tqdm 4.67.1's addopts, pytest-asyncio not installed
        ("--asyncio-mode=strict", "is an option of pytest-asyncio, which is not installed: "
         "pip install pytest-asyncio"),
        ("--cov-report=term", "pip install pytest-cov"),
        ("-n", "pip install pytest-xdist"),
        ("--frobnicate", "is an option of a pytest plugin that is not installed: install the "
         "test dependencies"),
    ],
)  # fmt: skip
def test_an_option_of_a_missing_plugin_is_named_with_its_package(option: str, fix: str) -> None:
    tail = USAGE_TAIL.format(option=option)
    session = f"<session>: exit 4: __main__.py: error: unrecognized arguments: {option}"
    baseline = metrics(
        errors=1, failures=("<session>",), exit_code=4, output_tail=tail, first_failure=session
    )
    message = broken_baseline(baseline) or ""
    assert f"first: {session};" in message
    assert fix in message, message


@pytest.mark.parametrize(
    ("timeouts", "baseline", "limit"),
    [
        (Timeouts(tests=900), None, 900),  # no baseline: the configured limit
        (Timeouts(tests=900), metrics(duration=1.2), 60),  # the floor
        (Timeouts(tests=900), metrics(duration=30.0), 150),  # 5 x
        (Timeouts(tests=900, factor=10), metrics(duration=30.0), 300),
        (Timeouts(tests=100), metrics(duration=30.0), 100),  # never above timeouts.tests
        (Timeouts(tests=900), metrics(duration=500.0, timed_out=True), 900),
    ],
)
def test_adaptive_timeout(timeouts: Timeouts, baseline: Metrics | None, limit: float) -> None:
    assert adaptive_timeout(timeouts, baseline) == limit
