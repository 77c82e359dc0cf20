"""A coverage plugin the project's configuration loads and this interpreter lacks.

ratchet measures with the project's own coverage configuration (``branch``, ``omit``, ...),
so a ``plugins = covdefaults`` there is loaded too, and without the package ``coverage
run`` dies before any test: "No module named 'covdefaults'" (pyflakes 3.4.0, and many
projects of the pre-commit family). The user's own ``pytest`` never loads it and passes,
so the broken baseline read as if the tests were broken. :func:`missing_plugin` says
which configuration names the plugin and what to install.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.gate.testcmd import read_ini, read_pyproject

HINT = "a coverage plugin"  # in the note health.broken_baseline repeats
_MISSING = re.compile(r"No module named '([\w.]+)'")
# (file, section) pairs coverage reads its [run] options from, in its own order
_INI = ((".coveragerc", "run"), ("setup.cfg", "coverage:run"), ("tox.ini", "coverage:run"))


def missing_plugin(work: Path, output: str) -> tuple[str, ...]:
    """The note for a run that failed importing a plugin ``work``'s coverage config loads."""
    found = _MISSING.search(output)
    if found is None:
        return ()
    module = found.group(1).split(".", 1)[0]
    for where, plugins in configured(work):
        if module in plugins:
            return (
                f"{module} is {HINT} the project's coverage configuration loads ({where}: "
                f"plugins = {', '.join(plugins)}) and it is not installed; ratchet measures "
                f"with that configuration: pip install {module}",
            )
    return ()


def configured(work: Path) -> list[tuple[str, list[str]]]:
    """(where, plugin module names) for each coverage configuration in ``work``."""
    out = []
    for name, section in _INI:
        parser = read_ini(work / name)
        if parser is not None and parser.has_option(section, "plugins"):
            words = parser.get(section, "plugins").replace(",", " ").split()
            out.append((f"{name} [{section}]", words))
    run = read_pyproject(work).get("tool", {}).get("coverage", {}).get("run", {})
    plugins = run.get("plugins") if isinstance(run, dict) else None
    if isinstance(plugins, list):
        out.append(("pyproject.toml [tool.coverage.run]", [str(p) for p in plugins]))
    return out
