"""Behaviour preservation: which functions changed (a table), and a real record + replay
of calls through the recorder plugin and the replay script (real subprocesses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.evaluation.behaviour import BehaviourCheck, changed_functions, module_name
from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.probes.command import TestCommand
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.gate.measure import preserves_behaviour
from engine.model import BehaviourMetrics, Goal
from tests.repo_helpers import write

SRC = """\
def f(x):
    return x + 1


class C:
    def m(self):
        return 1

    @staticmethod
    def s(y):
        return y
"""


@pytest.mark.parametrize(
    ("new", "changed"),
    [
        (SRC, []),
        (SRC.replace("return x + 1", "return 1 + x"), ["f"]),
        (SRC.replace("x + 1", "x+1  # same code"), []),  # formatting and comments only
        (SRC.replace("return 1\n", "return 2\n"), ["C.m"]),
        (SRC.replace("return y", "return -y"), ["C.s"]),
        (SRC + "\n\ndef g():\n    pass\n", []),  # added functions are not "changed"
        (SRC.replace("def f(x):\n    return x + 1\n", ""), []),  # removed: another guard's
    ],
)
def test_changed_functions(tmp_path: Path, new: str, changed: list[str]) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    refs = changed_functions(
        [FileChange(path="pkg/m.py", old_path="pkg/m.py", old=SRC, new=new)], tmp_path
    )
    assert [r.qualname for r in refs] == changed
    assert all(r.module == "pkg.m" and r.sys_path == "" for r in refs)


def test_test_files_are_never_recorded(tmp_path: Path) -> None:
    change = FileChange(path="tests/test_m.py", old_path="tests/test_m.py", old=SRC, new="")
    assert changed_functions([change], tmp_path) == []


@pytest.mark.parametrize(
    ("files", "rel", "expected"),
    [
        (["pkg/__init__.py"], "pkg/m.py", ("pkg.m", "")),
        (["src/pkg/__init__.py", "src/pkg/sub/__init__.py"], "src/pkg/sub/m.py",
         ("pkg.sub.m", "src")),
        ([], "tool.py", ("tool", "")),
        (["pkg/__init__.py"], "pkg/__init__.py", ("pkg", "")),
    ],
)  # fmt: skip
def test_module_name(tmp_path: Path, files: list[str], rel: str, expected: tuple[str, str]) -> None:
    for f in files:
        write(tmp_path / f, "")
    assert module_name(tmp_path, rel) == expected


@pytest.mark.parametrize(
    ("goal", "default", "preserve"),
    [
        (Goal(id="g", description=""), "auto", True),
        (Goal(id="g", description="", provider="ruff"), "auto", False),
        (Goal(id="g", description=""), "ruff", False),
        (Goal(id="g", description="", provider="ruff", behaviour="preserve"), "auto", True),
        (Goal(id="g", description="", behaviour="off"), "gemini", False),
        (None, "auto", False),
    ],
)
def test_which_goals_preserve_behaviour(goal: Goal | None, default: str, preserve: bool) -> None:
    assert preserves_behaviour(goal, default) is preserve


LIB = """\
import collections
import math


def label(n):
    if n < 0:
        raise ValueError("negative")
    return "big" if n > 100 else "small"


def push(items, x):
    items.append(x)


def ratio(a, b):
    return a / b


class Box:
    def __init__(self, v):
        self.v = v

    def twice(self):
        return self.v * 2


def nan():
    return math.nan


def last(n, seq):
    return tuple(collections.deque(seq, n))


def describe(values):
    return [label(v) for v in values]
"""

LIB_TESTS = """\
import pytest

from lib import Box, describe, label, last, nan, push, ratio


def test_it():
    assert len(describe([1, 500])) == 2
    with pytest.raises(ValueError):
        label(-1)
    items = []
    push(items, 3)
    assert ratio(1, 2) > 0
    assert Box(2).twice()
    assert nan() != 0
    assert last(2, iter("abc")) == ("b", "c")
"""


def check(tmp_path: Path, candidate_lib: str) -> tuple[int, int, str, tuple[str, ...]]:
    base, cand = tmp_path / "base", tmp_path / "cand"
    for root, lib in ((base, LIB), (cand, candidate_lib)):
        write(root / "lib.py", lib)
        write(root / "tests" / "test_lib.py", LIB_TESTS)
    changes = [FileChange(path="lib.py", old_path="lib.py", old=LIB, new=candidate_lib)]
    functions = changed_functions(changes, cand)
    runner = SandboxRunner(mode="unsafe-none")
    command = TestCommand.parse("python -m pytest -q")
    metrics = BehaviourCheck(runner=runner, command=command, timeout=120).run(base, cand, functions)
    return metrics.calls, metrics.diverged, metrics.first_divergence, metrics.untested


@pytest.mark.slow
@pytest.mark.parametrize(
    ("edit", "diverged", "evidence"),
    [
        # a result only a recorded call sees (the test checks only the length)
        (('"big" if n > 100', '"big" if n > 1000'), 1,
         "lib.py::label(500): baseline returned 'big', candidate returned 'small'"),
        # another exception type
        (('raise ValueError("negative")', 'raise TypeError("negative")'), 1,
         "lib.py::label(-1): baseline raised builtins.ValueError, candidate raised "
         "builtins.TypeError"),
        # an in-place change of an argument
        (("items.append(x)", "items.insert(0, x); items.append(x)"), 1,
         "lib.py::push([], 3): the arguments were left different"),
        # a method of a class: self is pickled and the candidate's method is called
        (("return self.v * 2", "return self.v + 2"), 0, ""),  # 2 * 2 == 2 + 2
        (("return self.v * 2", "return self.v * 3"), 1, "lib.py::Box.twice"),
        # NaN is not equal to itself: compared by pickles, the same
        (("return math.nan", "return float('nan')"), 0, ""),
        # an iterator argument is exhausted on both sides: the same state after the call
        # (its reloaded pickle would be a fresh iterator: toolz 1.2's tail went to review)
        (("return tuple(collections.deque(seq, n))",
          "kept = collections.deque(seq, n)\n    return tuple(kept)"), 0, ""),
        (("return tuple(collections.deque(seq, n))", "return list(collections.deque(seq, n))"),
         1, "baseline returned ('b', 'c'), candidate returned ['b', 'c']"),
        # a pure refactor
        (('return "big" if n > 100 else "small"',
          'if n > 100:\n        return "big"\n    return "small"'), 0, ""),
    ],
)  # fmt: skip
def test_record_and_replay(
    tmp_path: Path, edit: tuple[str, str], diverged: int, evidence: str
) -> None:
    calls, got, first, untested = check(tmp_path, LIB.replace(*edit))
    assert calls >= 1 and untested == ()
    assert got == diverged
    assert evidence in first


def behaviour_of(base: Path, cand: Path, changes: list[FileChange]) -> BehaviourMetrics:
    """The behaviour check of ``cand`` against ``base`` (real pytest runs, no sandbox)."""
    return BehaviourCheck(
        runner=SandboxRunner(mode="unsafe-none"),
        command=TestCommand.parse("python -m pytest -q"),
        timeout=120,
    ).run(base, cand, changed_functions(changes, cand))


@pytest.mark.slow
def test_function_no_test_calls_is_untested(tmp_path: Path) -> None:
    lib = LIB + "\n\ndef unused(x):\n    return x\n"
    base, cand = tmp_path / "base", tmp_path / "cand"
    write(base / "lib.py", lib)
    write(cand / "lib.py", lib.replace("return x\n", "return -x\n"))
    for root in (base, cand):
        write(root / "tests" / "test_lib.py", LIB_TESTS)
    changes = [
        FileChange(path="lib.py", old_path="lib.py", old=lib, new=(cand / "lib.py").read_text())
    ]
    metrics = behaviour_of(base, cand, changes)
    assert metrics.checked and metrics.untested == ("lib.py::unused",) and metrics.calls == 0


@pytest.mark.slow
def test_a_function_bound_by_name_before_the_recorder_ran_is_recorded(tmp_path: Path) -> None:
    """The conftest imports the package, so ``from .utils import double`` in api.py ran
    before the recorder wrapped ``pkg.utils.double``; the tests call it through api.py's
    own name only. Those calls are recorded (the names rebound) and the change is seen."""
    utils = "def double(x):\n    return 2 * x\n"
    files = {
        "pkg/__init__.py": "",
        "pkg/utils.py": utils,
        "pkg/api.py": "from .utils import double\n\n\ndef quad(x):\n    return double(double(x))\n",
        "tests/conftest.py": "import pkg.api  # noqa: F401\n",
        "tests/test_api.py": "from pkg.api import quad\n\n\ndef test_q():\n    assert quad(1)\n",
    }
    base, cand = tmp_path / "base", tmp_path / "cand"
    changed = utils.replace("2 * x", "x + x + (x > 1)")  # double(2): 4 -> 5
    for root, text in ((base, utils), (cand, changed)):
        for rel, body in files.items():
            write(root / rel, body)
        write(root / "pkg" / "utils.py", text)
    changes = [FileChange(path="pkg/utils.py", old_path="pkg/utils.py", old=utils, new=changed)]
    metrics = behaviour_of(base, cand, changes)
    assert metrics.untested == () and metrics.calls == 2, metrics
    assert metrics.diverged == 1 and "double(2)" in metrics.first_divergence, metrics
