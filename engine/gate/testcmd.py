"""``test_command: auto``: find the project's own test invocation in its configuration.

:func:`discover` reads (never runs) the checkout's configuration and returns the command
ratchet runs plus the reason, in this order:

1. tox: the first command of ``[testenv]`` (or of the first env in ``envlist`` when it has
   its own section) that runs pytest, from ``tox.ini`` or the ``legacy_tox_ini`` string
   of ``[tool.tox]`` in ``pyproject.toml``, as tox runs it without arguments:
   ``{posargs}`` is empty and ``{posargs:DEFAULT}`` is DEFAULT, ``{toxinidir}`` and
   ``{tox_root}`` are the checkout (``.``), ``{env:NAME:DEFAULT}`` is DEFAULT (the sandbox
   has a clean environment), ``{envsitepackagesdir}/pkg`` (``{env_site_packages_dir}``) is
   the checkout's ``pkg`` or ``src/pkg`` (the installed package is the code under
   measurement); a word with any other substitution is dropped, with the option it was the
   value of. A ``changedir`` is named in the reason: ratchet runs from the root. The
   env's ``setenv`` (``[testenv]``'s when it has none; ``{[section]setenv}`` expanded)
   comes with it as leading ``NAME=value`` words — ``PYTEST_ADDOPTS=-n auto``, ``TZ=UTC``,
   a settings module: the run the project's tests expect — with the same substitutions;
   an entry ratchet cannot know, an env file (``file|``) and the names the sandbox sets
   itself (``PATH``, ``HOME``, ``TMPDIR``, ``LANG``) are left out.
2. nox: the first ``session.run("pytest", ...)`` / ``session.run("python", "-m",
   "pytest", ...)`` in ``noxfile.py`` whose arguments are all string literals.
3. otherwise plain ``python -m pytest -q``: pytest itself applies ``addopts`` and
   ``testpaths`` of ``pytest.toml``, ``pytest.ini``, ``[tool.pytest]`` or
   ``[tool.pytest.ini_options]``, ``tox.ini [pytest]`` and ``setup.cfg [tool:pytest]``,
   so they need not be copied.

Whatever was found, the reason names the pytest configuration file and whether the
project collects module doctests (``--doctest-modules`` in its command or addopts) and
which ``--doctest-glob`` it uses. The *minimum* ratchet adds on top is separate (see
:mod:`engine.gate.evaluation.sandboxed.ratchet_probe`): the doctests of every module a
candidate touches run, whether or not the project asks for them.

An explicit ``test_command`` (anything but ``auto``) is returned as written.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTO = "auto"
PLAIN = "python -m pytest -q"
_PYTEST_START = re.compile(
    r"^(?:(?:python[0-9.]*|\{env_?python\})\s+-m\s+)?(?:pytest|py\.test)(?:\s|$)"
)


@dataclass(frozen=True, kw_only=True)
class ResolvedCommand:
    """The command that runs, why, and whether the project collects module doctests."""

    command: str
    reason: str
    doctest_modules: bool = False


def resolve(configured: str, root: Path) -> ResolvedCommand:
    """``configured`` as is, or the discovered command when it is ``auto``."""
    if configured.strip() != AUTO:
        return ResolvedCommand(
            command=configured,
            reason="test_command in directives.yaml",
            doctest_modules="--doctest-modules" in configured,
        )
    return discover(root)


def discover(root: Path) -> ResolvedCommand:
    """The project's test command (module doc); never raises for bad config files."""
    ini_file, addopts = pytest_addopts(root)
    found = _from_tox(root) or _from_nox(root)
    if found is not None:
        args, source, env = found
        command = " ".join(["python", "-m", "pytest", *(shlex.quote(a) for a in args)])
        if env:
            command = " ".join([*(f"{n}={shlex.quote(v)}" for n, v in env.items()), command])
            source += " with setenv " + ", ".join(env)
    else:
        args, source = [], ""
        command = PLAIN
    doctests = "--doctest-modules" in args or "--doctest-modules" in addopts
    globs = [a.split("=", 1)[1] for a in [*args, *addopts] if a.startswith("--doctest-glob=")]
    parts = [f"from {source}" if source else "no tox/nox test command: plain pytest"]
    parts.append(
        f"pytest config {ini_file} (addopts: {' '.join(addopts) or 'none'})"
        if ini_file
        else "no pytest config"
    )
    parts.append("module doctests: " + ("collected by the project" if doctests else "not asked"))
    if globs:
        parts.append("doctest globs: " + ", ".join(globs))
    return ResolvedCommand(command=command, reason="; ".join(parts), doctest_modules=doctests)


def pytest_addopts(root: Path) -> tuple[str, list[str]]:
    """(the file pytest reads its options from, its ``addopts`` words), pytest 9's order:
    ``pytest.toml``, ``.pytest.toml`` (``[pytest]``, native TOML), ``pytest.ini``,
    ``.pytest.ini`` (each chosen when present, even empty), ``pyproject.toml``
    (``[tool.pytest]`` in native TOML, else ``[tool.pytest.ini_options]``), ``tox.ini``
    ``[pytest]``, ``setup.cfg`` ``[tool:pytest]``; ("", []) when none."""
    for name in ("pytest.toml", ".pytest.toml"):
        if (root / name).is_file():
            table = _toml(root / name).get("pytest", {})
            return name, _words(table.get("addopts", "")) if isinstance(table, dict) else []
    for name in ("pytest.ini", ".pytest.ini"):
        if (root / name).is_file():
            parser = read_ini(root / name)
            if parser is None or not parser.has_section("pytest"):
                return name, []
            return name, _words(parser.get("pytest", "addopts", fallback=""))
    options = read_pyproject(root).get("tool", {}).get("pytest", {})
    if isinstance(options, dict):
        native = {k: v for k, v in options.items() if k != "ini_options"}
        ini = options.get("ini_options")
        table = native or (ini if isinstance(ini, dict) else None)
        if table is not None:
            return "pyproject.toml", _words(table.get("addopts", ""))
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        parser = read_ini(root / name)
        if parser is not None and parser.has_section(section):
            return name, _words(parser.get(section, "addopts", fallback=""))
    return "", []


def _words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError:
        return str(value).split()


def read_pyproject(root: Path) -> dict[str, Any]:
    """``root/pyproject.toml`` as a dict; ``{}`` when it is missing or does not parse."""
    return _toml(root / "pyproject.toml")


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_ini(path: Path, text: str | None = None) -> configparser.RawConfigParser | None:
    """The ini file at ``path`` (or ``text``), duplicate keys allowed; None when it cannot
    be read or does not parse."""
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text if text is not None else path.read_text(encoding="utf-8"))
    except (OSError, configparser.Error, UnicodeDecodeError):
        return None
    return parser


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SANDBOX_SETS = frozenset({"PATH", "HOME", "TMPDIR", "LANG"})  # engine.gate.evaluation.sandbox
_SETENV_REF = re.compile(r"\{\[([^\]]+)\]setenv\}")
PYTHON_FILES = ("test_*.py", "*_test.py")  # pytest's default python_files


def _tox_parser(root: Path) -> tuple[configparser.RawConfigParser, str] | None:
    parser = read_ini(root / "tox.ini")
    source = "tox.ini"
    if parser is None or not parser.sections():
        legacy = read_pyproject(root).get("tool", {}).get("tox", {}).get("legacy_tox_ini")
        parser = read_ini(root, str(legacy)) if isinstance(legacy, str) else None
        source = "pyproject.toml [tool.tox]"
    return None if parser is None else (parser, source)


def _setenv(parser: configparser.RawConfigParser, section: str) -> dict[str, str]:
    """The ``setenv`` tox gives ``section``, name -> value (module doc)."""
    own = section if parser.has_option(section, "setenv") else "testenv"
    values: dict[str, str] = {}
    for line in _setenv_lines(parser, own, {own}):
        name, eq, value = line.partition("=")
        name, value = name.strip(), _substitute(value.strip()).strip()
        if not eq or not _ENV_NAME.fullmatch(name) or name in _SANDBOX_SETS:
            continue  # a comment, an env file, a factor-conditional line, the sandbox's own
        if _DROP not in value and _SITE not in value:
            values[name] = value
    return values


def _setenv_lines(parser: configparser.RawConfigParser, section: str, seen: set[str]) -> list[str]:
    """The ``setenv`` lines of ``section``, a ``{[other]setenv}`` line replaced by the
    other section's lines (each section once)."""
    if not parser.has_option(section, "setenv"):
        return []
    out: list[str] = []
    for line in parser.get(section, "setenv").splitlines():
        ref = _SETENV_REF.fullmatch(line.strip())
        if ref is None:
            out.append(line.strip())
        elif ref.group(1) not in seen:
            out += _setenv_lines(parser, ref.group(1), seen | {ref.group(1)})
    return out


def _from_tox(root: Path) -> tuple[list[str], str, dict[str, str]] | None:
    found = _tox_parser(root)
    if found is None:
        return None
    parser, source = found
    envs = re.split(r"[\s,]+", parser.get("tox", "envlist", fallback="").strip())
    sections = [f"testenv:{envs[0]}"] if envs and envs[0] else []
    for section in [*sections, "testenv"]:
        if not parser.has_section(section) or not parser.has_option(section, "commands"):
            continue
        lines = _command_lines(parser.get(section, "commands"))
        parsed = [_tox_args(line, root) for line in lines if _PYTEST_START.match(line)]
        runs = [a for a in parsed if a is not None]
        if not runs:
            continue
        chosen = max(runs, key=lambda a: _width(a, root))  # the first of the widest
        changedir = parser.get(section, "changedir", fallback="").strip()
        moved = changedir and _substitute(changedir) not in (".", "./")
        note = f" (changedir {changedir} ignored: run from the root)" if moved else ""
        if len(runs) > 1:
            note += f" (the widest of its {len(runs)} pytest commands)"
        return chosen, f"{source} [{section}] commands{note}", _setenv(parser, section)
    return None


def _command_lines(text: str) -> list[str]:
    """tox's command lines: a line ending in ``\\`` goes on on the next one."""
    lines: list[str] = []
    going_on = False
    for raw in text.splitlines():
        line = raw.strip()
        if going_on and lines:
            lines[-1] = lines[-1][:-1].rstrip() + " " + line
        else:
            lines.append(line)
        going_on = line.endswith("\\")
    return [line for line in lines if line and not line.startswith("#")]


def _width(args: list[str], root: Path) -> int:
    """How much of the suite a pytest command of a tox env runs (its env may run several:
    README doctests, the package's doctests, the suite): 2 when it names no path (the
    configured collection, all of it), 1 when it names a directory or a test module, 0
    when it names only other files (``README.rst``: doctests of documents)."""
    from engine.gate.evaluation.probes.command import VALUE_OPTIONS  # the package imports us

    paths, takes_value = [], False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg.startswith("-"):
            takes_value = arg in VALUE_OPTIONS
        else:
            paths.append(arg.split("::", 1)[0])
    if not paths:
        return 2
    wide = any((root / p).is_dir() or default_test_module(Path(p).name) for p in paths)
    return 1 if wide else 0


def default_test_module(name: str) -> bool:
    """Does pytest's default ``python_files`` collect a file of this name?"""
    return any(fnmatch.fnmatch(name, pattern) for pattern in PYTHON_FILES)


_SITE = "\x00site\x00"  # {envsitepackagesdir}: resolved against the checkout per word
_DROP = "\x00drop\x00"  # a substitution ratchet cannot know: the word goes


def _tox_args(line: str, root: Path) -> list[str] | None:
    from engine.gate.evaluation.probes.command import VALUE_OPTIONS  # the package imports us

    try:
        words = shlex.split(_substitute(line))
    except ValueError:
        return None
    words = words[1:] if words[0] in ("pytest", "py.test") else words[3:]
    out: list[str] = []
    for word in words:
        if word.startswith(_SITE):
            word = _in_checkout(word[len(_SITE) :].lstrip("/"), root)
        if word and _DROP not in word and _SITE not in word:
            out.append(word)
        elif out and out[-1] in VALUE_OPTIONS:
            out.pop()  # ``--basetemp {envtmpdir}``: the option would take the next word
    return out


def _substitute(text: str) -> str:
    """``text`` with tox's ``{...}`` substitutions done (module doc), nested ones too."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 2] in ("{", "}"):
            out.append(text[i + 1])
            i += 2
            continue
        if text[i] != "{":
            out.append(text[i])
            i += 1
            continue
        depth, j = 1, i + 1
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        if depth:
            out.append(_DROP)  # unbalanced: nothing after it is what tox would run
            break
        out.append(_replacement(text[i + 1 : j - 1]))
        i = j
    return "".join(out)


def _replacement(inner: str) -> str:
    if inner in ("/", ":"):
        return inner
    name, _, rest = inner.partition(":")
    if name == "posargs":
        return _substitute(rest)
    if name in ("toxinidir", "tox_root"):
        return "."
    if name in ("envpython", "env_python") and not rest:
        return "python"  # the env's interpreter: the sandbox's is the one ratchet runs
    if name == "env":
        return _substitute(rest.partition(":")[2])
    if name in ("envsitepackagesdir", "env_site_packages_dir") and not rest:
        return _SITE
    return _DROP


def _in_checkout(rel: str, root: Path) -> str:
    """An installed-package path ``rel`` as the checkout's own (``pkg`` or ``src/pkg``), or
    "" when the checkout has neither."""
    top = rel.split("/", 1)[0]
    if top and (root / top).exists():
        return rel
    if top and (root / "src" / top).exists():
        return f"src/{rel}"
    return ""


def _from_nox(root: Path) -> tuple[list[str], str, dict[str, str]] | None:
    try:
        tree = ast.parse((root / "noxfile.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run"
        ):
            continue
        words = [a.value for a in node.args if isinstance(a, ast.Constant)]
        if len(words) != len(node.args) or not all(isinstance(w, str) for w in words):
            continue
        if words[:1] == ["pytest"]:
            return [str(w) for w in words[1:]], "noxfile.py session.run", {}
        if words[:3] in (["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
            return [str(w) for w in words[3:]], "noxfile.py session.run", {}
    return None
