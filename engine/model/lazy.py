"""A package's names imported on first use (PEP 562): ``engine.model`` and
``engine.gate.policy`` re-export many classes, and most commands need few of them."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``homes`` maps an exported name to the
    submodule defining it; a name found is kept in ``namespace`` (the next use is a plain
    global), an unknown one raises AttributeError as a module would."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    return __getattr__
