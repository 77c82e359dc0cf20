"""Probes on known inputs: command parsing, syntax, radon, ruff, bandit, JUnit, coverage JSON."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from engine.gate.evaluation.filecache import FileCache
from engine.gate.evaluation.probes.command import TestCommand
from engine.gate.evaluation.probes.complexity import measure_complexity
from engine.gate.evaluation.probes.coverage_report import read_coverage_json
from engine.gate.evaluation.probes.junit import JunitSummary, node_id, read_junit
from engine.gate.evaluation.probes.lint import measure_lint
from engine.gate.evaluation.probes.security import measure_security
from engine.gate.evaluation.probes.syntax import syntax_problems
from engine.gate.evaluation.probes.verdict import SESSION_FAILURE, forgive_flaky, pytest_metrics
from engine.gate.evaluation.process import RunResult
from engine.gate.paths import is_test_file
from engine.model import ComplexityMetrics, CoverageMetrics, LintMetrics, SecurityMetrics


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# --------------------------------------------------------------------------- test command


@pytest.mark.parametrize(
    ("command", "argv", "env", "pytest_args"),
    [
        ("python -m pytest -q", ("python", "-m", "pytest", "-q"), {}, ("-q",)),
        ("pytest tests -x", ("pytest", "tests", "-x"), {}, ("tests", "-x")),
        ("python3 -m pytest", ("python3", "-m", "pytest"), {}, ()),
        ("/usr/bin/python3.11 -m pytest -k 'a or b'", None, {}, ("-k", "a or b")),
        ("py.test", ("py.test",), {}, ()),
        ("FOO=1 BAR= pytest -q", ("pytest", "-q"), {"FOO": "1", "BAR": ""}, ("-q",)),
        ("python -m unittest discover", None, {}, None),
        ("make test", ("make", "test"), {}, None),
        ("python -X dev -m pytest", None, {}, None),
    ],
)
def test_test_command_parse(
    command: str,
    argv: tuple[str, ...] | None,
    env: dict[str, str],
    pytest_args: tuple[str, ...] | None,
) -> None:
    parsed = TestCommand.parse(command)
    if argv is not None:
        assert parsed.argv == argv
    assert parsed.env == env
    assert parsed.pytest_args == pytest_args
    assert parsed.is_pytest is (pytest_args is not None)


@pytest.mark.parametrize("command", ["", "FOO=1", "pytest 'unbalanced"])
def test_test_command_refuses(command: str) -> None:
    with pytest.raises(ValueError):
        TestCommand.parse(command)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("pytest -q tests", ("-q",)),
        ("pytest tests/test_a.py::test_x -x", ("-x",)),
        ("pytest -k tests -m slow tests", ("-k", "tests", "-m", "slow")),
        ("pytest --deselect tests/test_a.py::y tests", ("--deselect", "tests/test_a.py::y")),
        ("pytest --maxfail=2 no_such_dir", ("--maxfail=2", "no_such_dir")),
    ],
)
def test_option_args_drop_test_paths(
    tmp_path: Path, command: str, options: tuple[str, ...]
) -> None:
    write(tmp_path, {"tests/test_a.py": "def test_x(): pass\n"})
    assert TestCommand.parse(command).option_args(tmp_path) == options


@pytest.mark.parametrize(
    ("path", "is_test"),
    [
        ("tests/test_a.py", True),
        ("tests/helpers.py", True),
        ("pkg/tests/data.py", True),
        ("test_top.py", True),
        ("pkg/thing_test.py", True),
        ("conftest.py", True),
        ("pkg/mod.py", False),
        ("pkg/latest.py", False),
        ("pkg/testing/util.py", False),
        ("contest.py", False),
    ],
)
def test_is_test_file(path: str, is_test: bool) -> None:
    assert is_test_file(path) is is_test


# --------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("x = 1\n", None),
        ("# -*- coding: latin-1 -*-\ns = '\xe9'\n", None),
        ("def f(:\n    pass\n", "mod.py:1: SyntaxError:"),
        ("return 1\n", "mod.py:1: SyntaxError: 'return' outside function"),
        ("def f():\n  x = 1\n    y = 2\n", "mod.py:3: IndentationError:"),
        ("x = 1\0\n", "mod.py:0: "),
    ],
)
@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "cache"])
def test_syntax_problems(tmp_path: Path, source: str, problem: str | None, cached: bool) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "mod.py").write_bytes(source.encode("latin-1"))
    cache = FileCache(tmp_path / "cache") if cached else None
    for _ in range(2):  # with a cache: the second answer is the stored one, the same
        found = syntax_problems(root, ["mod.py", "deleted.py"], cache)
        if problem is None:
            assert found == ()
        else:
            assert len(found) == 1 and found[0].startswith(problem), found


def test_syntax_answers_are_kept_by_content_and_name_the_file_they_are_in(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("def f(:\n")
    (root / "pkg" / "ok.py").write_text("x = 1\n")
    cache = FileCache(tmp_path / "cache")
    assert syntax_problems(root, ["pkg/a.py", "pkg/ok.py"], cache) == (
        "pkg/a.py:1: SyntaxError: invalid syntax",
    )
    assert cache.entries("compile") == 2
    # the same bytes elsewhere: answered from the cache, under its own name
    (root / "pkg" / "b.py").write_text("def f(:\n")
    assert syntax_problems(root, ["pkg/b.py"], cache) == (
        "pkg/b.py:1: SyntaxError: invalid syntax",
    )
    assert cache.entries("compile") == 2
    # changed content is compiled again: a fixed file is not held to its old answer
    (root / "pkg" / "a.py").write_text("def f():\n    pass\n")
    assert syntax_problems(root, ["pkg/a.py", "pkg/ok.py"], cache) == ()
    assert cache.entries("compile") == 3


# --------------------------------------------------------------------------- radon

CC_SNIPPET = """\
def simple():
    return 1


def branchy(x):
    if x > 0 and x < 10:
        return "small"
    elif x >= 10:
        return "big"
    return "neg"


class Box:
    def get(self):
        return 1

    def put(self, values):
        for v in values:
            if v:
                print(v)
"""


def test_complexity_exact_numbers(tmp_path: Path) -> None:
    # blocks: simple 1, branchy 4 (if, and, elif), Box 3 (4 / 2 methods + 1), get 1, put 3
    write(tmp_path, {"pkg/cc.py": CC_SNIPPET, "pkg/broken.py": "def f(:\n"})
    report = measure_complexity(tmp_path, ["pkg/cc.py", "pkg/broken.py"])
    assert report.metrics.mi == pytest.approx(62.20397, abs=1e-4)
    assert dataclasses.replace(report.metrics, mi=0.0) == ComplexityMetrics(
        total=12, max=4, mean=2.4, blocks=5, mi=0.0
    )
    assert len(report.skipped) == 1 and report.skipped[0].startswith("pkg/broken.py: ")


def test_complexity_mi_is_mean_over_files(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": CC_SNIPPET, "b.py": "X = 1\n"})
    metrics = measure_complexity(tmp_path, ["a.py", "b.py"]).metrics
    assert metrics.mi == pytest.approx((62.20397 + 100.0) / 2, abs=1e-4)
    assert (metrics.total, metrics.blocks) == (12, 5)


def test_complexity_without_files_is_default(tmp_path: Path) -> None:
    assert measure_complexity(tmp_path, []).metrics == ComplexityMetrics()


# --------------------------------------------------------------------------- ruff

LINT_FILES = {
    "pyproject.toml": """\
        [tool.ruff]
        extend-exclude = ["generated"]
        [tool.ruff.lint]
        select = ["E", "F"]
        """,
    "pkg/dirty.py": """\
        import os


        def f(x):
            return x == None
        """,
    "pkg/clean.py": "def g():\n    return 1\n",
    "pkg/ugly.py": "x=1\n",
    "generated/out.py": "import sys\nimport os\n",
}


def test_lint_counts_with_repo_config(tmp_path: Path) -> None:
    write(tmp_path, LINT_FILES)
    files = ["generated/out.py", "pkg/clean.py", "pkg/dirty.py", "pkg/ugly.py"]
    report = measure_lint(tmp_path, files)
    # F401 (unused os) + E711 (== None); generated/ is excluded by the repo's config
    assert report.metrics == LintMetrics(
        violations=2, by_code={"E711": 1, "F401": 1}, unformatted=1
    )
    assert report.problems == ()


def test_lint_counts_syntax_errors(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": "def f(:\n    pass\n", "ok.py": "X = 1\n"})
    metrics = measure_lint(tmp_path, ["bad.py", "ok.py"]).metrics
    assert metrics.violations >= 1 and set(metrics.by_code) == {"invalid-syntax"}
    assert metrics.unformatted == 0


def test_lint_without_files_is_zero(tmp_path: Path) -> None:
    assert measure_lint(tmp_path, []).metrics == LintMetrics()


# --------------------------------------------------------------------------- bandit

SECURITY_SNIPPET = """\
import pickle
import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)


def load(blob):
    return pickle.loads(blob)


def check(x):
    assert x
    return eval(x)  # nosec B307
"""


def test_security_exact_numbers(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/sec.py": SECURITY_SNIPPET, "pkg/fine.py": "X = 1\n"})
    report = measure_security(tmp_path, ["pkg/fine.py", "pkg/sec.py"])
    assert report.metrics == SecurityMetrics(
        findings=5,
        high=1,  # B602: shell=True
        by_test={"B101": 1, "B301": 1, "B403": 1, "B404": 1, "B602": 1},
    )
    assert report.problems == ()


def test_security_reports_unparsable_files(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": "def f(:\n"})
    report = measure_security(tmp_path, ["bad.py"])
    assert report.metrics == SecurityMetrics()
    assert len(report.problems) == 1 and report.problems[0].startswith("bad.py: ")


# --------------------------------------------------------------------------- junit

JUNIT = """\
<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="8">
<testcase classname="tests.test_kinds" name="test_ok" time="0.001"/>
<testcase classname="tests.test_kinds" name="test_p[x.y z]"><failure>t</failure></testcase>
<testcase classname="tests.test_kinds.TestC" name="test_m"/>
<testcase classname="tests.test_kinds" name="test_err"><error message="setup">t</error></testcase>
<testcase classname="tests.test_kinds" name="test_both"><failure/><error/></testcase>
<testcase classname="tests.test_kinds" name="test_sk"><skipped type="pytest.skip"/></testcase>
<testcase classname="tests.test_kinds" name="test_xf"><skipped type="pytest.xfail"/></testcase>
<testcase classname="" name="tests.test_broken"><error message="collection failure"/></testcase>
</testsuite></testsuites>
"""


def test_read_junit(tmp_path: Path) -> None:
    write(tmp_path, {"tests/test_kinds.py": "", "tests/test_broken.py": "", "j.xml": JUNIT})
    summary = read_junit(tmp_path / "j.xml", tmp_path)
    assert summary == JunitSummary(
        passed=("tests/test_kinds.py::test_ok", "tests/test_kinds.py::TestC::test_m"),
        failed=("tests/test_kinds.py::test_p[x.y z]", "tests/test_kinds.py::test_both"),
        errors=("tests/test_kinds.py::test_err", "tests/test_broken.py"),
        skipped=("tests/test_kinds.py::test_sk",),
        xfailed=("tests/test_kinds.py::test_xf",),
    )
    assert summary.collected == 8


@pytest.mark.parametrize("text", [None, "", "<testsuites><unclosed>"])
def test_read_junit_unreadable(tmp_path: Path, text: str | None) -> None:
    if text is not None:
        (tmp_path / "j.xml").write_text(text)
    assert read_junit(tmp_path / "j.xml", tmp_path) is None


@pytest.mark.parametrize(
    ("classname", "name", "expected"),
    [
        ("tests.test_a", "test_x", "tests/test_a.py::test_x"),
        ("tests.test_a.TestC", "test_m", "tests/test_a.py::TestC::test_m"),
        ("tests.test_a.TestC.Inner", "test_m", "tests/test_a.py::TestC::Inner::test_m"),
        ("test_top", "test_t[1.5]", "test_top.py::test_t[1.5]"),
        ("", "tests.test_a", "tests/test_a.py"),
        ("elsewhere.test_z", "test_q", "elsewhere.test_z::test_q"),
    ],
)
def test_node_id(tmp_path: Path, classname: str, name: str, expected: str) -> None:
    write(tmp_path, {"tests/test_a.py": "", "test_top.py": ""})
    assert node_id(classname, name, tmp_path) == expected


# --------------------------------------------------------------------------- coverage json


def test_read_coverage_json(tmp_path: Path) -> None:
    data = {
        "totals": {"percent_covered": 62.5, "covered_lines": 5, "num_statements": 8},
        "files": {
            "pkg/a.py": {"summary": {"percent_covered": 50.0}},
            str(tmp_path / "pkg" / "b.py"): {"summary": {"percent_covered": 75.0}},
        },
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    assert read_coverage_json(tmp_path / "c.json", tmp_path) == CoverageMetrics(
        percent=62.5, covered_lines=5, num_statements=8, files={"pkg/a.py": 50.0, "pkg/b.py": 75.0}
    )


@pytest.mark.parametrize("text", [None, "not json", "{}", '{"totals": {"percent_covered": 1}}'])
def test_read_coverage_json_unreadable(tmp_path: Path, text: str | None) -> None:
    if text is not None:
        (tmp_path / "c.json").write_text(text)
    assert read_coverage_json(tmp_path / "c.json", tmp_path) is None


# --------------------------------------------------------------------------- pytest verdicts

SUMMARY = JunitSummary(passed=("t.py::a", "t.py::b"), failed=("t.py::c",), errors=("t.py::d",))


def run_result(returncode: int, timed_out: bool = False) -> RunResult:
    return RunResult(returncode=returncode, stdout="out\n", stderr="", timed_out=timed_out)


@pytest.mark.parametrize(
    ("returncode", "summary", "timed_out", "expected"),
    [
        # rc, junit, timed out -> (passed, failed, errors, collected, failures)
        (1, SUMMARY, False, (2, 1, 1, 4, ("t.py::c", "t.py::d"))),
        (0, JunitSummary(passed=("t.py::a",)), False, (1, 0, 0, 1, ())),
        (5, JunitSummary(), False, (0, 0, 0, 0, ())),
        (1, JunitSummary(passed=("t.py::a",)), False, (1, 0, 1, 1, (SESSION_FAILURE,))),
        (0, None, False, (0, 0, 1, 0, (SESSION_FAILURE,))),
        (-9, None, True, (0, 0, 1, 0, (SESSION_FAILURE,))),
        (3, JunitSummary(), False, (0, 0, 1, 0, (SESSION_FAILURE,))),
    ],
)
def test_pytest_metrics(
    returncode: int,
    summary: JunitSummary | None,
    timed_out: bool,
    expected: tuple[int, int, int, int, tuple[str, ...]],
) -> None:
    tests = pytest_metrics(run_result(returncode, timed_out), summary)
    assert (tests.passed, tests.failed, tests.errors, tests.collected, tests.failures) == expected
    assert (tests.exit_code, tests.timed_out) == (returncode, timed_out)


@pytest.mark.parametrize(
    ("stderr", "first"),
    [
        # tqdm 4.67.1: a usage error says what on its own line, not on the last one
        ("ERROR: usage: __main__.py [options] [file_or_dir] [file_or_dir] [...]\n"
         "__main__.py: error: unrecognized arguments: --asyncio-mode=strict\n"
         "  inifile: /w/pyproject.toml\n  rootdir: /w\n",
         "<session>: exit 4: __main__.py: error: unrecognized arguments: --asyncio-mode=strict"),
        ("Traceback (most recent call last):\nImportError: while loading conftest '/w/c.py'\n",
         "<session>: exit 4: ImportError: while loading conftest '/w/c.py'"),
        # bidict 0.23.1 (exit 3): the exception, not coverage's warning printed after it
        ("INTERNALERROR> Traceback (most recent call last):\n"
         "INTERNALERROR>     raise InvalidArgument(f'Profile {name!r} is not registered')\n"
         "INTERNALERROR> hypothesis.errors.InvalidArgument: Profile 'less-examples' is not "
         "registered\n/x/coverage/control.py:981: CoverageWarning: No data was collected.\n"
         '  self._warn("No data was collected.", slug="no-data-collected")\n',
         "<session>: exit 4: hypothesis.errors.InvalidArgument: Profile 'less-examples' is not "
         "registered"),
    ],
)  # fmt: skip
def test_a_run_without_a_verdict_says_why(stderr: str, first: str) -> None:
    result = RunResult(returncode=4, stdout="", stderr=stderr)
    assert pytest_metrics(result, JunitSummary()).first_failure == first


@pytest.mark.parametrize(
    ("flaky", "expected"),
    [
        # flaky ids -> (passed, failed, errors, failures, exit code)
        ((), (2, 1, 1, ("t.py::c", "t.py::d"), 1)),
        (("t.py::c",), (3, 0, 1, ("t.py::d",), 1)),
        (("t.py::c", "t.py::d"), (4, 0, 0, (), 0)),
    ],
)
def test_forgive_flaky(
    flaky: tuple[str, ...], expected: tuple[int, int, int, tuple[str, ...], int]
) -> None:
    tests = forgive_flaky(pytest_metrics(run_result(1), SUMMARY), SUMMARY, flaky)
    assert (tests.passed, tests.failed, tests.errors, tests.failures, tests.exit_code) == expected
    assert ("flaky" in tests.output_tail) is bool(flaky)
