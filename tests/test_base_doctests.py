"""Which doctest failures of a touched module may be forgiven: the docstring they come
from must be the same text on the base and the candidate."""

from __future__ import annotations

from engine.gate.evaluation.base_doctests import (
    docstrings,
    doctest_failures,
    forgivable,
    unchanged,
)
from engine.gate.evaluation.diffcov import FileChange

BASE = '''\
"""Text helpers.

>>> 1 + 1
2
"""


def half(n):
    """Half of n.

    >>> half(3)
    1
    """
    return n / 2


class Shouter:
    """Loud."""

    def shout(self, word):
        """Upper-case.

        >>> Shouter().shout("a")
        'A'
        """

        def inner():
            """Not a doctest DocTestFinder finds."""

        return word.upper()
'''


def test_docstrings_by_qualified_name_as_the_doctest_finder_sees_them() -> None:
    found = docstrings(BASE)
    assert found is not None
    assert set(found) == {"", "half", "Shouter", "Shouter.shout"}
    assert docstrings("def broken(:\n") is None


def test_a_change_outside_the_docstring_keeps_it_unchanged() -> None:
    new = BASE.replace("return n / 2", "return n // 2 if n else 0")
    assert unchanged(BASE, new, "calc/text.py::calc.text.half")
    assert unchanged(BASE, new, "calc/text.py::calc.text.Shouter.shout")
    assert unchanged(BASE, new, "calc/text.py::calc.text")  # the module's own docstring


def test_a_rewritten_docstring_is_not_unchanged() -> None:
    new = BASE.replace('    1\n    """\n    return n / 2', '    1.5\n    """\n    return n / 2')
    assert new != BASE
    assert not unchanged(BASE, new, "calc/text.py::calc.text.half")
    moved = BASE.replace('"""Text helpers.\n\n>>> 1 + 1\n2\n"""', '"""Text helpers."""')
    assert not unchanged(BASE, moved, "calc/text.py::calc.text")


def test_an_id_that_names_no_docstring_is_never_unchanged() -> None:
    gone = BASE.replace('    """Half of n.\n\n    >>> half(3)\n    1\n    """\n', "")
    assert not unchanged(BASE, gone, "calc/text.py::calc.text.half")
    assert not unchanged(BASE, BASE, "calc/text.py::calc.text.__test__.extra")
    assert not unchanged(BASE, BASE, "calc/text.py::test_something")
    assert not unchanged(BASE, BASE, "calc/text.py::Shouter::shout")
    assert not unchanged(BASE, "def broken(:\n", "calc/text.py::calc.text.half")


def test_only_doctest_shaped_ids_of_the_touched_modules_are_candidates() -> None:
    failures = [
        "calc/text.py::calc.text.half",
        "calc/other.py::calc.other.f",
        "tests/test_text.py::test_half",
        "calc/text.py",
        "<session>",
    ]
    assert doctest_failures(failures, ["calc/text.py"]) == ["calc/text.py::calc.text.half"]


def test_forgivable_keeps_unchanged_docstrings_of_files_changed_in_place() -> None:
    new = BASE.replace("return n / 2", "return n * 0.5")
    ids = ["calc/text.py::calc.text.half", "calc/text.py::calc.text.Shouter.shout"]
    same = FileChange(path="calc/text.py", old_path="calc/text.py", old=BASE, new=new)
    assert forgivable(ids, [same]) == tuple(sorted(ids))
    renamed = FileChange(path="calc/text.py", old_path="calc/words.py", old=BASE, new=new)
    assert forgivable(ids, [renamed]) == ()
    assert forgivable(ids, []) == ()
