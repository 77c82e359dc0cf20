"""A warm start, inside the sandbox: import what every pytest run imports, then wait.

Started by :mod:`engine.gate.evaluation.warm` before the run it is for exists. It imports
coverage and pytest with pytest's own plugin modules (registering nothing), then reads one
line from stdin: ``{"module": ..., "args": [...], "env": {...}}`` (a ``null`` value:
unset). EOF (nobody came): exit 0. Otherwise it sets those environment variables
(``PYTHONPATH`` among them), points stdin at /dev/null, rebuilds ``sys.path`` as the
interpreter's start would have for ``python -m`` with that ``PYTHONPATH``, and runs the
module as ``python -m`` would (``runpy``): the exit status is the module's. Imports
nothing from ``engine``.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys


def _warm() -> None:
    """What ``python -m coverage run -m pytest`` and ``python -m pytest`` import first."""
    try:
        import coverage.cmdline  # noqa: F401
        import pytest  # noqa: F401
        from _pytest.config import default_plugins
    except Exception:  # noqa: BLE001 - the run itself will say what is missing
        return
    for name in default_plugins:
        try:
            importlib.import_module(f"_pytest.{name}")
        except Exception:  # noqa: BLE001, S112 - pytest reports its own plugins' errors
            continue


def _entries(path: str) -> list[str]:
    """``PYTHONPATH``'s directories as ``sys.path`` holds them: absolute, each once."""
    out: list[str] = []
    for entry in path.split(os.pathsep):
        if entry and os.path.abspath(entry) not in out:
            out.append(os.path.abspath(entry))
    return out


def main() -> int:
    _warm()
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 0
    spec = json.loads(line)
    started_with = _entries(os.environ.get("PYTHONPATH", ""))
    for key, value in spec["env"].items():
        if value is None:
            os.environ.pop(str(key), None)
        else:
            os.environ[str(key)] = str(value)
    rest = [p for p in sys.path[1:] if p not in started_with]
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    module = str(spec["module"])
    sys.argv = [module, *(str(a) for a in spec["args"])]
    # as the interpreter's start makes it for ``python -m``: the working directory, then
    # PYTHONPATH (absolute, each once), then the rest
    sys.path[:] = [os.getcwd(), *_entries(os.environ.get("PYTHONPATH", "")), *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
