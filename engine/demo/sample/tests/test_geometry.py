import math

import pytest

from shapes.geometry import Shape, area, perimeter, summary


def test_square() -> None:
    assert area("square", [3]) == 9
    assert perimeter("square", [3]) == 12


def test_rectangle() -> None:
    assert area("rectangle", [2, 5]) == 10
    assert perimeter("rectangle", [2, 5]) == 14


def test_circle() -> None:
    assert area("circle", [1]) == pytest.approx(math.pi)


def test_unknown() -> None:
    with pytest.raises(ValueError):
        area("hexagon", [1])
    assert perimeter("hexagon", [1]) is None


def test_summary_and_describe() -> None:
    assert summary({"square": [2]}) == {"square": 4}
    assert Shape("box").describe() == "shape box"
