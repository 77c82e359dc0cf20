"""Which reaching tests the behaviour recording runs on the base (pure)."""

from __future__ import annotations

from engine.gate.evaluation.behaviour import FunctionRef
from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.sampling import PER_FUNCTION, recording_tests
from engine.gate.evaluation.selection import TestMap

OLD = "import os\n\n\ndef f(x):\n    return x + 1\n\n\nclass C:\n    def g(self):\n"
OLD += "        return 2\n"
F = FunctionRef(id="m.py::f", file="m.py", qualname="f", module="m", sys_path="")
G = FunctionRef(id="m.py::C.g", file="m.py", qualname="C.g", module="m", sys_path="")
CHANGE = FileChange(path="m.py", old_path="m.py", old=OLD, new=OLD.replace("1", "2"))


def ids_of(module: str, n: int) -> list[str]:
    return [f"{module}::test_{i}" for i in range(n)]


def mapped(f_tests: list[str], g_tests: list[str]) -> TestMap:
    names = tuple(dict.fromkeys(f_tests + g_tests))
    ix = {t: i for i, t in enumerate(names)}
    return TestMap(
        tests=names,
        lines={"m.py": {5: tuple(ix[t] for t in f_tests), 10: tuple(ix[t] for t in g_tests)}},
    )


def test_few_reaching_tests_are_all_kept_and_test_files_are_the_candidates() -> None:
    few = ids_of("tests/test_a.py", 3)
    reaching = ["tests/test_new.py", *few]  # a changed test file: not on the base as is

    assert recording_tests([F], [CHANGE], mapped(few, []), reaching) == tuple(few)


def test_many_are_cut_to_whole_modules_with_the_most_first_for_each_function() -> None:
    big, small, other = (
        ids_of("tests/test_big.py", PER_FUNCTION + 5),
        ids_of("tests/test_small.py", 3),
        ids_of("tests/test_g.py", 2),
    )
    test_map = mapped(small + big, other)
    reaching = sorted(small + big + other)

    kept = recording_tests([F, G], [CHANGE], test_map, reaching)

    assert set(kept) == set(big) | set(other)  # f: its biggest module; g: all of its few
    assert list(kept) == [t for t in reaching if t in kept]  # the plan's order


def test_without_a_map_or_a_known_function_everything_reaching_runs() -> None:
    reaching = ids_of("tests/test_a.py", 2)
    gone = FunctionRef(id="m.py::h", file="m.py", qualname="h", module="m", sys_path="")

    assert recording_tests([F], [CHANGE], None, reaching) == tuple(reaching)
    assert recording_tests([gone], [CHANGE], mapped(reaching, []), reaching) == tuple(reaching)
    assert recording_tests([F], [CHANGE], mapped([], []), reaching) == tuple(reaching)
