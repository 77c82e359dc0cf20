from shapes.api import area, describe_all, perimeter, summary


def test_reexports() -> None:
    assert area("square", [2]) == 4
    assert perimeter("square", [2]) == 8
    assert summary({"square": [1]}) == {"square": 1}


def test_describe_all() -> None:
    assert describe_all(["a", "b"]) == ["shape a", "shape b"]
