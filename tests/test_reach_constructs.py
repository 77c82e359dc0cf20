"""Coverage by reach across Python's control flow, with ``branch = true``: for/else and
break, while and continue, try/except/finally, with, generators, decorators, properties,
multi-line conditions, ``pragma: no cover`` and ``pragma: no branch``. Each change stays
inside one function and changes which arcs run; by reach must measure what the whole
suite under coverage does (totals, per-file lines and branches, the next map)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_reach_measured import BRANCH, by_test, candidate, plan, project

pytestmark = pytest.mark.slow

LIB = """\
import functools


def deco(fn):
    @functools.wraps(fn)
    def inner(*a, **k):
        if k.get("skip"):
            return None
        return fn(*a, **k)

    return inner


class Box:
    def __init__(self, items):
        self.items = list(items)

    @property
    def size(self):
        return len(self.items) if self.items else 0

    def find(self, want):
        for i, x in enumerate(self.items):
            if x == want:
                break
        else:
            return -1
        return i

    def total(self):
        try:
            return sum(self.items)
        except TypeError:
            return None
        finally:
            pass


@deco
def walk(n):
    out = []
    while n > 0:
        if n % 3 == 0:
            n -= 2
            continue
        out.append(n)
        n -= 1
    return out


def gen(n):
    for i in range(n):
        if i % 2:
            yield i


def pick(xs, key=None):
    with open(__file__) as fh:
        if key is None and fh:
            return xs[0] if xs else None
    return [x for x in xs if key(x)]


def cond(a,
         b):
    if (a and
            b):
        return 1
    elif a or b:
        return 2
    return 3  # pragma: no cover


def never(x):
    if x:  # pragma: no branch
        return 1
    return 2
"""
TESTS = {
    "tests/test_box.py": """\
        from pkg.lib import Box


        def test_find():
            assert Box([1, 2]).find(2) == 1


        def test_miss():
            assert Box([1]).find(5) == -1


        def test_total():
            assert Box(["a"]).total() is None


        def test_size():
            assert Box([]).size == 0
        """,
    "tests/test_walk.py": """\
        from pkg.lib import gen, walk


        def test_walk():
            assert walk(4)


        def test_skip():
            assert walk(3, skip=True) is None


        def test_gen():
            assert list(gen(4)) == [1, 3]
        """,
    "tests/test_pick.py": """\
        from pkg.lib import cond, never, pick


        def test_pick():
            assert pick([1]) == 1


        def test_key():
            assert pick([1, 2], lambda x: x > 1) == [2]


        def test_cond():
            assert cond(1, 1) == 1


        def test_cond2():
            assert cond(0, 1) == 2


        def test_never():
            assert never(1) == 1
        """,
    "tests/test_more.py": """\
        from pkg.lib import Box, walk


        def test_a():
            assert Box([3]).total() == 3


        def test_b():
            assert walk(1) == [1]


        def test_c():
            assert Box([1, 2, 3]).size == 3


        def test_d():
            assert walk(0) == []
        """,
}
CHANGES = {
    "for-else-break": ("            if x == want:", "            if x == want or x is None:"),
    "while-continue": ("            n -= 2\n            continue\n", "            n -= 1\n"),
    "try-except": (
        "            return sum(self.items)\n",
        "            ints = all(isinstance(x, int) for x in self.items)\n"
        "            return sum(self.items) if ints else None\n",
    ),
    "generator": (
        "        if i % 2:\n",
        "        if i > 100:\n            return\n        if i % 2:\n",
    ),
    "with": (
        "            return xs[0] if xs else None",
        "            return xs[-1] if xs else None",
    ),
    "multi-line-elif": (
        "    elif a or b:\n        return 2",
        "    elif a:\n        return 2\n    elif b:\n        return 2",
    ),
    "no-branch": ("        return 1\n    return 2", "        return 1 if x else 3\n    return 2"),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_by_reach_measures_what_the_whole_suite_does_across_constructs(
    tmp_path: Path, name: str
) -> None:
    old, new = CHANGES[name]
    assert old in LIB
    changed = {"pkg/lib.py": LIB.replace(old, new)}
    repo, base = project(tmp_path, BRANCH, {"pkg/__init__.py": "", "pkg/lib.py": LIB, **TESTS})
    reach = plan(repo, base, changed)
    assert reach.usable and "pkg/lib.py" in reach.shifted, reach.fallback
    by_reach, whole = candidate(repo, reach, changed)
    assert by_reach.coverage == whole.coverage
    assert by_reach.lines == whole.lines
    assert by_reach.test_map is not None and whole.test_map is not None
    assert by_test(by_reach.test_map) == by_test(whole.test_map)
