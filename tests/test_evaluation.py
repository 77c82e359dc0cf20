"""Measuring a tiny real project (a git repo in tmp_path) through the real sandbox."""

from __future__ import annotations

import dataclasses
import os
import textwrap
import time
from pathlib import Path

import pytest

from engine.gate.evaluation import BaselineCache, Evaluator, SandboxRunner, baseline_key
from engine.gate.evaluation.cache import tool_versions
from engine.gate.evaluation.probes.tests import TestsProbe
from engine.gate.evaluation.probes.verdict import SESSION_FAILURE
from engine.gate.health import broken_baseline
from engine.model import (
    ComplexityMetrics,
    CoverageMetrics,
    Directives,
    Limits,
    LintMetrics,
    Metrics,
    SecurityMetrics,
    TestMetrics,
    Timeouts,
)
from tests.git_testing import IDENTITY_ENV
from tests.repo_helpers import git

CALC = """\
def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b
"""

TESTS = """\
from pkg.calc import add, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2
"""

PROJECT = {"pkg/__init__.py": "", "pkg/calc.py": CALC, "tests/test_calc.py": TESTS}


def project_repo(root: Path, changes: dict[str, str] | None = None) -> tuple[Path, list[str], str]:
    """A committed project (PROJECT updated with ``changes``): (checkout, tracked files, sha)."""
    repo = root / "repo"
    for rel, text in {**PROJECT, **(changes or {})}.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init", env=IDENTITY_ENV)
    return repo, git(repo, "ls-files").split(), git(repo, "rev-parse", "HEAD").strip()


def evaluator(mode: str = "bwrap", **overrides: object) -> Evaluator:
    base = Evaluator(runner=SandboxRunner(mode=mode))  # type: ignore[arg-type]
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def live_processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if entry.name.isdigit() and text.encode() in cmdline and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bwrap", "unsafe-none"])
def test_measure_green_project(tmp_path: Path, mode: str) -> None:
    repo, files, sha = project_repo(tmp_path)
    metrics = evaluator(mode).measure(repo, files, commit=sha)
    assert dataclasses.replace(metrics.tests, duration=0.0, output_tail="") == TestMetrics(
        passed=2,
        collected=2,
        time_limit=900.0,
        command="python -m pytest -q",
        command_reason="test_command in directives.yaml",
    )
    coverage = metrics.coverage  # 6 statements; mul's body never runs
    assert (coverage.covered_lines, coverage.num_statements) == (5, 6)
    assert coverage.percent == pytest.approx(500 / 6)
    assert coverage.files == {"pkg/__init__.py": 100.0, "pkg/calc.py": pytest.approx(500 / 6)}
    assert dataclasses.replace(metrics.complexity, mi=0.0) == ComplexityMetrics(
        total=3, max=1, mean=1.0, blocks=3, mi=0.0
    )
    assert metrics.lint == LintMetrics()
    assert metrics.security == SecurityMetrics()
    assert (metrics.commit, metrics.sandbox) == (sha, mode)
    assert 0 < metrics.seconds < 120
    # nothing left behind in the worktree: no .coverage, junit, caches or bytecode
    assert git(repo, "status", "--porcelain", "--ignored") == ""


@pytest.mark.slow
def test_measure_failing_test(tmp_path: Path) -> None:
    broken = TESTS.replace("sub(5, 3) == 2", "sub(5, 3) == 3")
    repo, files, sha = project_repo(tmp_path, {"tests/test_calc.py": broken})
    tests = evaluator(flaky_reruns=1).measure(repo, files, commit=sha).tests
    assert (tests.passed, tests.failed, tests.errors, tests.collected) == (1, 1, 0, 2)
    assert tests.failures == ("tests/test_calc.py::test_sub",)
    assert tests.exit_code == 1 and not tests.timed_out
    assert "assert 2 == 3" in tests.output_tail


@pytest.mark.slow
def test_a_project_that_asks_for_colours_gets_a_plain_output_tail(tmp_path: Path) -> None:
    """wcwidth 0.9.5 and python-slugify say ``--color=yes`` in addopts: the tail (and the
    broken-baseline message made from it) had terminal escapes in every record."""
    broken = TESTS.replace("sub(5, 3) == 2", "sub(5, 3) == 3")
    config = '[tool.pytest.ini_options]\naddopts = "--color=yes"\n'
    repo, files, sha = project_repo(
        tmp_path, {"tests/test_calc.py": broken, "pyproject.toml": config}
    )
    tests = evaluator().measure(repo, files, commit=sha).tests
    assert tests.failures == ("tests/test_calc.py::test_sub",)
    assert "assert 2 == 3" in tests.output_tail and "\x1b" not in tests.output_tail


@pytest.mark.slow
def test_a_coverage_data_file_cut_by_the_file_size_limit_names_the_limit(tmp_path: Path) -> None:
    """python packaging 26.4: 64,204 tests with per-test contexts wrote a 307 MB coverage
    data file against the 256 MB RLIMIT_FSIZE; the broken baseline said only "database
    disk image is malformed". 12,000 contexts against a 1 MB limit, here."""
    many = (
        "import pytest\nfrom pkg.calc import add\n\n\n"
        "@pytest.mark.parametrize('i', range(12000))\ndef test_many(i):\n"
        "    assert add(i, 1) == i + 1\n"
    )
    repo, files, sha = project_repo(tmp_path, {"tests/test_many.py": many})
    measured = evaluator(limits=Limits(file_size_mb=1)).evaluate(
        repo, files, commit=sha, contexts=True
    )
    hint = [n for n in measured.notes if "limits.file_size_mb = 1 MB" in n]
    assert hint, measured.notes
    message = broken_baseline(measured.metrics)
    assert message is not None and "raise limits.file_size_mb" in message, message


FLAKY = """\
from pathlib import Path


def test_flaky():
    marker = Path("flaky.marker")
    if not marker.exists():
        marker.write_text("failed once")
        raise AssertionError("first run fails")
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("reruns", "expected"),
    [
        # flaky_reruns -> (passed, failed, failures, flaky, exit code)
        (0, (2, 1, ("tests/test_flaky.py::test_flaky",), (), 1)),
        (1, (3, 0, (), ("tests/test_flaky.py::test_flaky",), 0)),
    ],
)
def test_flaky_reruns(
    tmp_path: Path, reruns: int, expected: tuple[int, int, tuple[str, ...], tuple[str, ...], int]
) -> None:
    repo, files, sha = project_repo(tmp_path, {"tests/test_flaky.py": FLAKY})
    result = evaluator(flaky_reruns=reruns).evaluate(repo, files, commit=sha)
    tests = result.metrics.tests
    assert (tests.passed, tests.failed, tests.failures, result.flaky, tests.exit_code) == expected


@pytest.mark.slow
def test_no_tests_collected_is_exit_5(tmp_path: Path) -> None:
    repo, files, sha = project_repo(tmp_path)
    tests = (
        evaluator(test_command="python -m pytest -q -k no_such_test")
        .measure(repo, files, commit=sha)
        .tests
    )
    assert (tests.exit_code, tests.collected, tests.errors, tests.failures) == (5, 0, 0, ())


HANG = """\
import time


def test_hangs():
    time.sleep(1000)
"""


@pytest.mark.slow
def test_hung_test_is_killed_with_its_process_group(tmp_path: Path) -> None:
    repo, files, sha = project_repo(tmp_path, {"tests/test_hang.py": HANG})
    started = time.monotonic()
    result = evaluator(timeouts=Timeouts(tests=4)).evaluate(repo, files, commit=sha)
    tests = result.metrics.tests
    assert time.monotonic() - started < 60
    assert tests.timed_out and tests.errors == 1 and tests.failures == (SESSION_FAILURE,)
    assert "timed out" in tests.output_tail
    assert result.metrics.coverage == CoverageMetrics()
    assert any("timed out" in note for note in result.notes)
    assert live_processes_mentioning(str(repo)) == []


CONFTEST = """\
from pathlib import Path

Path("conftest.ran").write_text("tests were started")
"""


@pytest.mark.slow
def test_syntax_error_stops_the_cascade_before_tests(tmp_path: Path) -> None:
    changes = {"pkg/calc.py": CALC + "\ndef broken(:\n    pass\n", "conftest.py": CONFTEST}
    repo, files, sha = project_repo(tmp_path, changes)
    result = evaluator().evaluate(repo, files, commit=sha)
    metrics = result.metrics
    assert not (repo / "conftest.ran").exists()
    assert (metrics.tests.errors, metrics.tests.exit_code, metrics.tests.collected) == (1, 2, 0)
    assert metrics.tests.failures[0].startswith("pkg/calc.py:12: SyntaxError")
    assert metrics.lint.by_code.get("invalid-syntax", 0) >= 1  # static probes still ran
    assert any(note.startswith("radon skipped pkg/calc.py") for note in result.notes)
    assert any("tests not run" in note for note in result.notes)


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # command -> (passed, failed, collected, exit code, failures)
        ("python -c pass", (1, 0, 1, 0, ())),
        (
            "python -c 'import sys; sys.exit(3)'",
            (0, 1, 1, 3, ("python -c 'import sys; sys.exit(3)'",)),
        ),
    ],
)
def test_non_pytest_command_is_judged_by_exit_code(
    tmp_path: Path, command: str, expected: tuple[int, int, int, int, tuple[str, ...]]
) -> None:
    repo, _, _ = project_repo(tmp_path)
    report = TestsProbe(runner=SandboxRunner(), test_command=command, timeout=30).run(repo)
    tests = report.tests
    assert (
        tests.passed,
        tests.failed,
        tests.collected,
        tests.exit_code,
        tests.failures,
    ) == expected
    assert report.coverage == CoverageMetrics()


def test_evaluator_from_directives() -> None:
    directives = Directives(
        test_command="pytest -x", sandbox="unsafe-none", flaky_reruns=3, timeouts=Timeouts(tests=7)
    )
    made = Evaluator.from_directives(directives)
    assert (made.runner.mode, made.runner.limits) == ("unsafe-none", directives.limits)
    assert (made.test_command, made.flaky_reruns, made.timeouts.tests) == ("pytest -x", 3, 7)


# --------------------------------------------------------------------------- baseline cache

RICH = Metrics(
    commit="abc123",
    tests=TestMetrics(passed=3, failed=1, failures=("t.py::x",), output_tail="boom"),
    coverage=CoverageMetrics(percent=75.5, covered_lines=3, num_statements=4, files={"a.py": 75.5}),
    complexity=ComplexityMetrics(total=4, max=2, mean=1.33, blocks=3, mi=70.1),
    lint=LintMetrics(violations=2, by_code={"F401": 2}, unformatted=1),
    security=SecurityMetrics(findings=1, high=0, by_test={"B101": 1}),
    sandbox="bwrap",
    seconds=3.5,
)


def test_baseline_cache_round_trip(tmp_path: Path) -> None:
    cache = BaselineCache(tmp_path / "cache")
    key = baseline_key("abc123", "python -m pytest -q")
    assert cache.get(key) is None
    cache.put(key, RICH)
    assert cache.get(key) == RICH
    assert cache.get(baseline_key("abc124", "python -m pytest -q")) is None
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".json"]


def test_baseline_cache_ignores_corrupt_files(tmp_path: Path) -> None:
    cache = BaselineCache(tmp_path)
    cache.put("k", RICH)
    (stored,) = tmp_path.iterdir()
    for junk in ("", "{not json", '{"key": "k"}', '{"key": "other", "metrics": {}}', "[]"):
        stored.write_text(junk)
        assert cache.get("k") is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("abc", "pytest"), ("abd", "pytest")),
        (("abc", "pytest"), ("abc", "pytest -x")),
    ],
)
def test_baseline_key_varies(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert baseline_key(*a) != baseline_key(*b)
    assert baseline_key(*a) == baseline_key(*a)


def test_baseline_key_names_tool_versions_and_extras() -> None:
    key = baseline_key("abc", "pytest", sandbox="bwrap")
    for tool, version in tool_versions().items():
        assert f'"{tool}":"{version}"' in key
    assert '"sandbox":"bwrap"' in key


@pytest.mark.sandbox  # starts bubblewrap: cannot run inside ratchet's own sandbox
def test_the_contexts_report_is_written_by_the_test_run_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With per-test contexts, the coverage report and the selection map come out of the
    sandboxed test run (its last ``pytest_unconfigure``): with the fallback report script
    made unusable, the coverage and the map are still there."""
    import engine.gate.evaluation.probes.tests as tests_module

    monkeypatch.setattr(tests_module, "CONTEXTS", tmp_path / "missing-script.py")
    repo, _, _ = project_repo(tmp_path)
    report = TestsProbe(runner=SandboxRunner(), timeout=60).run(repo, contexts=True)
    assert report.tests.passed == 2 and not report.problems
    assert report.coverage.num_statements > 0 and report.lines is not None
    assert report.test_map is not None
    assert report.test_map.covering("pkg/calc.py", {2}) == {"tests/test_calc.py::test_add"}
    assert report.test_map.covering("pkg/calc.py", {10}) == set()  # mul: no test runs it


@pytest.mark.sandbox  # starts bubblewrap: cannot run inside ratchet's own sandbox
@pytest.mark.parametrize(
    "rc",
    [
        "[run]\nparallel = True\n",
        # pyjwt 2.10.1: a [paths] entry `coverage combine` refuses ("Result path must not
        # contain wildcards"); the parts of one run need no remapping
        "[run]\nparallel = True\nrelative_files = True\n[paths]\nsource =\n"
        "    */site-packages\n    pkg\n",
    ],
    ids=["parallel", "paths-with-a-wildcard"],
)
def test_parallel_coverage_data_is_combined_and_reported_by_the_script(
    tmp_path: Path, rc: str
) -> None:
    """A project whose coverage config writes parallel data files: the run's own report
    steps aside, the data are combined and the script writes the report and the map."""
    repo, _, _ = project_repo(tmp_path, {".coveragerc": rc})
    report = TestsProbe(runner=SandboxRunner(), timeout=60).run(repo, contexts=True)
    assert report.tests.passed == 2 and not report.problems
    assert report.coverage.num_statements > 0
    assert report.test_map is not None
    assert report.test_map.covering("pkg/calc.py", {6}) == {"tests/test_calc.py::test_sub"}


@pytest.mark.sandbox  # starts bubblewrap: cannot run inside ratchet's own sandbox
def test_a_src_layout_is_measured_from_the_checkout_not_an_installed_copy(
    tmp_path: Path,
) -> None:
    """``src/calcpkg`` is what the tests must import: a stale copy of the package earlier
    on the path (here through the command's own PYTHONPATH, as an installed or editable
    copy would be) must not answer for it, and the coverage names the src files."""
    stale = "def add(a, b):\n    return 0\n"
    tests = "from calcpkg import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    layout = {
        "src/calcpkg/__init__.py": "def add(a, b):\n    return a + b\n",
        "stale/calcpkg/__init__.py": stale,
        "tests/test_calc.py": tests,
    }
    repo = tmp_path / "repo"
    for rel, text in layout.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init", env=IDENTITY_ENV)
    command = "PYTHONPATH=stale python -m pytest -q"
    probe = TestsProbe(runner=SandboxRunner(), test_command=command, timeout=60)
    report = probe.run(repo, contexts=True)
    assert (report.tests.passed, report.tests.failed) == (1, 0), report.tests.output_tail
    assert "src/calcpkg/__init__.py" in report.coverage.files
    assert report.test_map is not None
    assert report.test_map.covering("src/calcpkg/__init__.py", {2}) == {
        "tests/test_calc.py::test_add"
    }
