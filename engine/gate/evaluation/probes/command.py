"""Understand the user's ``test_command``: is it pytest (then we may add coverage, junit and
node-id re-runs), which of its arguments select tests (dropped when re-running), and the
environment it runs in (:meth:`TestCommand.env_in`: a ``src/`` layout is put on the path).
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TEST_COMMAND = "python -m pytest -q"
_NO_COV = "--no-cov"  # pytest-cov's switch (coverage_plugin_off)
_ONE_PROCESS = ("-n", "0")  # pytest-xdist's switch (distribution_off)
# pytest-xdist's options that start workers (``-n 2``, ``-nauto``, ``--numprocesses=4``, ...)
_DISTRIBUTING = re.compile(r"-n.*|--numprocesses(=.*)?|--tx(=.*)?|--dist(=.*)?|-d")

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"python[0-9.]*")
# pytest options whose value is the next argument (so that value is not a test path)
VALUE_OPTIONS = frozenset(
    {
        "-k", "-m", "-p", "-c", "-o", "-W", "-r", "--deselect", "--ignore", "--ignore-glob",
        "--rootdir", "--confcutdir", "--basetemp", "--junitxml", "--junit-xml", "--maxfail",
        "--tb", "--durations", "--import-mode", "--log-level", "--override-ini", "--config-file",
        "-n", "--numprocesses", "--maxprocesses", "--dist", "--tx",
        # plugins' (pytest-cov's --cov takes an optional value, and takes the next word)
        "--cov", "--cov-report", "--cov-config", "--cov-fail-under", "--hypothesis-profile",
        "--hypothesis-seed", "--timeout", "--reruns",
    }
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class TestCommand:
    """A parsed test command: ``argv`` as typed, ``env`` from leading ``NAME=value`` words,
    and ``pytest_args`` (the arguments after ``pytest``) or None when it is not pytest."""

    __test__ = False  # not a pytest class

    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    pytest_args: tuple[str, ...] | None = None

    @property
    def is_pytest(self) -> bool:
        return self.pytest_args is not None

    @classmethod
    def parse(cls, command: str) -> TestCommand:
        """Recognise ``pytest ...``, ``py.test ...`` and ``python[3[.x]] -m pytest ...``.

        Raises ValueError for an unparsable (unbalanced quotes) or empty command.
        """
        words = shlex.split(command)
        env: dict[str, str] = {}
        while words and _ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if not words:
            raise ValueError(f"test_command {command!r} has no command to run")
        exe = Path(words[0]).name
        args: tuple[str, ...] | None = None
        if exe in ("pytest", "py.test"):
            args = tuple(words[1:])
        elif _PYTHON.fullmatch(exe) and words[1:3] == ["-m", "pytest"]:
            args = tuple(words[3:])
        return cls(argv=tuple(words), env=env, pytest_args=args)

    def env_in(self, work: Path) -> dict[str, str]:
        """``env`` for a run in ``work``; in a ``src/`` layout (:func:`src_root`), with
        ``work/src`` first on ``PYTHONPATH``: the tests import the code being measured,
        not an installed copy of the package (editable installs point at the user's own
        tree) nor nothing at all (a package that is not installed)."""
        src = src_root(work)
        if src is None:
            return dict(self.env)
        path = self.env.get("PYTHONPATH", "")
        return {**self.env, "PYTHONPATH": f"{src}:{path}" if path else str(src)}

    def plugin_args(self, work: Path, *, one_process: bool = False) -> tuple[str, ...]:
        """Arguments every sandboxed pytest run of this command in ``work`` ends its options
        with: ``--no-cov`` when pytest-cov will be active (:func:`coverage_plugin_off`,
        over the configuration's ``addopts``, the command's arguments and environment);
        ``one_process`` (a run that measures inside pytest's process: coverage, the
        behaviour recording): ``-n 0`` too when pytest-xdist would start workers
        (:func:`distribution_off`)."""
        from engine.gate.testcmd import pytest_addopts

        words = [*pytest_addopts(work)[1], *(self.pytest_args or ())]
        args = coverage_plugin_off(words, self.env, installed=pytest_cov_installed())
        if one_process:
            args += distribution_off(words, self.env, installed=xdist_installed())
        return args

    def option_args(self, root: Path) -> tuple[str, ...]:
        """``pytest_args`` without the ones naming tests (existing paths, optionally with
        ``::node`` suffixes), so a re-run can name exactly the tests it wants."""
        out: list[str] = []
        takes_value = False
        for arg in self.pytest_args or ():
            if takes_value:
                out.append(arg)
                takes_value = False
            elif arg.startswith("-"):
                out.append(arg)
                takes_value = arg in VALUE_OPTIONS
            elif not (root / arg.split("::", 1)[0]).exists():
                out.append(arg)
        return tuple(out)


def src_root(work: Path) -> Path | None:
    """``work/src`` when it holds Python code (``src/*.py`` or ``src/<package>/*.py``, the
    "src layout" of packaging guides), else None."""
    src = work / "src"
    if not src.is_dir():
        return None
    if any(src.glob("*.py")) or any(src.glob("*/*.py")):
        return src
    return None


def coverage_plugin_off(
    words: Sequence[str], env: Mapping[str, str], *, installed: bool
) -> tuple[str, ...]:
    """``("--no-cov",)`` when pytest-cov will be active in a pytest run with ``words`` (the
    configuration's ``addopts``, the command's arguments) and ``env`` (its
    ``PYTEST_ADDOPTS`` counts too), else ``()``.

    ratchet runs pytest under its own ``coverage run``; the project's ``--cov`` starts a
    second coverage session that takes the tracer over (ratchet's data file ends up empty:
    "No data to report", 0 statements) and its ``--cov-fail-under`` fails runs the rules
    already judge. ``--no-cov`` is pytest-cov's own switch for that, an option only the
    loaded plugin knows: it is not added when the plugin is not installed, blocked
    (``-p no:cov``, ``-p no:pytest_cov``), not loaded because plugin autoloading is off
    (``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` without ``-p pytest_cov``), or already given."""
    words = [*words, *_split(env.get("PYTEST_ADDOPTS", ""))]
    if _NO_COV in words or not _loads(words, env, installed, _COV_NAMES):
        return ()
    return (_NO_COV,)


def distribution_off(
    words: Sequence[str], env: Mapping[str, str], *, installed: bool
) -> tuple[str, ...]:
    """``("-n", "0")`` when pytest-xdist will spread a pytest run with ``words`` and ``env``
    (as for :func:`coverage_plugin_off`) over worker processes, else ``()``.

    Coverage, the per-test contexts and the behaviour recording see only the process they
    run in: with ``addopts = "-n auto"`` the tests ran in workers nobody traced, and every
    measurement said 0% covered, no test reaching any change, no recorded call. ``-n 0``
    (given last, it wins over ``addopts``) is xdist's own "run in this process". Only the
    runs that measure get it: the verdict run stays as the user configured it."""
    words = [*words, *_split(env.get("PYTEST_ADDOPTS", ""))]
    if not any(_DISTRIBUTING.fullmatch(w) for w in words):
        return ()
    return _ONE_PROCESS if _loads(words, env, installed, _XDIST_NAMES) else ()


# (names ``-p no:NAME`` blocks, names ``-p NAME`` loads with autoloading off)
_COV_NAMES = ({"cov", "pytest_cov"}, {"pytest_cov", "pytest_cov.plugin"})
_XDIST_NAMES = ({"xdist"}, {"xdist", "xdist.plugin"})


def _loads(
    words: Sequence[str],
    env: Mapping[str, str],
    installed: bool,
    names: tuple[set[str], set[str]],
) -> bool:
    """Will an installed plugin known by ``names`` load in a run with ``words`` (their
    ``PYTEST_ADDOPTS`` included) and ``env``: not blocked, and not left out because plugin
    autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``) unless named with ``-p``?"""
    blocked, explicit = names
    plugins = _plugins(words)
    if not installed or plugins & {f"no:{name}" for name in blocked}:
        return False
    return not env.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") or bool(plugins & explicit)


def _plugins(words: Sequence[str]) -> set[str]:
    """The plugin names of ``-p NAME`` and ``-pNAME`` in ``words``."""
    plugins = {words[i + 1] for i, w in enumerate(words[:-1]) if w == "-p"}
    return plugins | {w[2:] for w in words if w.startswith("-p") and len(w) > 2 and w[2] != "-"}


@functools.cache
def xdist_installed() -> bool:
    """Whether the interpreter that runs the tests (this one) has pytest-xdist."""
    return importlib.util.find_spec("xdist") is not None


@functools.cache
def pytest_cov_installed() -> bool:
    """Whether the interpreter that runs the tests (this one) has pytest-cov."""
    return importlib.util.find_spec("pytest_cov") is not None


def _split(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()
