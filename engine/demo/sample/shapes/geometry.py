"""Areas and perimeters of simple shapes."""
import os
import sys
import math
from typing import List, Optional, Dict


class Shape(object):
    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return "shape %s" % self.name


def area(kind: str, dims: List[float]) -> float:
    if kind == "square":
        return dims[0] ** 2
    if kind == "rectangle":
        return dims[0] * dims[1]
    if kind == "circle":
        return math.pi * dims[0] ** 2
    raise ValueError("unknown shape: {}".format(kind))


def perimeter(kind: str, dims: List[float]) -> Optional[float]:
    if kind == "square":
        return 4 * dims[0]
    if kind == "rectangle":
        return 2 * (dims[0] + dims[1])
    if kind == "circle":
        return 2 * math.pi * dims[0]
    return None


def summary(shapes: Dict[str, List[float]]) -> Dict[str, float]:
    return {kind: area(kind, dims) for kind, dims in shapes.items()}
