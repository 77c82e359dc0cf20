"""The public API: callers import everything from here."""
from shapes.geometry import Shape, area, perimeter
from shapes.geometry import summary


def describe_all(names: list[str]) -> list[str]:
    return [Shape(name).describe() for name in names]
