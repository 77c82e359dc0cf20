"""``test_command: auto``: what discovery finds in a project's configuration (a table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gate.testcmd import PLAIN, discover, resolve
from tests.repo_helpers import write

CASES = [
    # (files, command, reason fragments, doctest_modules)
    ({}, PLAIN, ["no tox/nox test command", "no pytest config"], False),
    (
        {"pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--doctest-modules -q"\n'},
        PLAIN,
        ["pytest config pyproject.toml (addopts: --doctest-modules -q)",
         "collected by the project"],
        True,
    ),
    (  # pytest 9's native TOML (humanize 4.17.0)
        {"pyproject.toml": '[tool.pytest]\naddopts = ["--doctest-modules"]\n'},
        PLAIN,
        ["pytest config pyproject.toml (addopts: --doctest-modules)", "collected by the project"],
        True,
    ),
    (  # pytest.toml comes first, even empty; then pytest.ini, even without [pytest]
        {"pytest.toml": "", "pytest.ini": "[pytest]\naddopts = --doctest-modules\n",
         "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--doctest-modules"\n'},
        PLAIN,
        ["pytest config pytest.toml (addopts: none)", "module doctests: not asked"],
        False,
    ),
    (
        {".pytest.toml": '[pytest]\naddopts = ["-ra", "--doctest-modules"]\n'},
        PLAIN,
        ["pytest config .pytest.toml (addopts: -ra --doctest-modules)"],
        True,
    ),
    (
        {"pytest.ini": "", "setup.cfg": "[tool:pytest]\naddopts = --doctest-modules\n"},
        PLAIN,
        ["pytest config pytest.ini (addopts: none)", "module doctests: not asked"],
        False,
    ),
    (
        {"pytest.ini": "[pytest]\naddopts = -ra\ntestpaths = tests\n"},
        PLAIN,
        ["pytest config pytest.ini (addopts: -ra)", "module doctests: not asked"],
        False,
    ),
    (
        {"setup.cfg": "[tool:pytest]\naddopts = --doctest-glob=*.rst\n"},
        PLAIN,
        ["pytest config setup.cfg", "doctest globs: *.rst"],
        False,
    ),
    (
        {"tox.ini": "[tox]\nenvlist = py311\n[testenv]\ncommands =\n    pip list\n"
         "    pytest --doctest-modules {posargs} src\n"},
        "python -m pytest --doctest-modules src",
        ["from tox.ini [testenv] commands", "collected by the project"],
        True,
    ),
    (
        {"tox.ini": "[tox]\nenvlist = lint, py\n[testenv:lint]\ncommands = python -m pytest -x "
         "{toxinidir}/tests\n[testenv]\ncommands = pytest\n"},
        "python -m pytest -x ./tests",
        ["from tox.ini [testenv:lint] commands"],
        False,
    ),
    (
        {"pyproject.toml": '[tool.tox]\nlegacy_tox_ini = """\n[testenv]\ncommands = pytest '
         '--doctest-modules\n"""\n'},
        "python -m pytest --doctest-modules",
        ["from pyproject.toml [tool.tox] [testenv] commands"],
        True,
    ),
    (
        {"noxfile.py": "import nox\n\n@nox.session\ndef tests(session):\n    session.install('.')\n"
         "    session.run('pytest', '--doctest-modules', 'pkg')\n"},
        "python -m pytest --doctest-modules pkg",
        ["from noxfile.py session.run"],
        True,
    ),
    # broken configuration never raises: it is as if it were absent
    ({"tox.ini": "[testenv\ncommands = pytest\n", "pyproject.toml": "not = [toml"}, PLAIN, [],
     False),
]  # fmt: skip


@pytest.mark.parametrize(("files", "command", "reasons", "doctests"), CASES)
def test_discover(
    tmp_path: Path, files: dict[str, str], command: str, reasons: list[str], doctests: bool
) -> None:
    for rel, text in files.items():
        write(tmp_path / rel, text)
    found = discover(tmp_path)
    assert found.command == command
    for fragment in reasons:
        assert fragment in found.reason, found.reason
    assert found.doctest_modules is doctests


def test_explicit_command_is_kept_as_written(tmp_path: Path) -> None:
    write(tmp_path / "tox.ini", "[testenv]\ncommands = pytest --doctest-modules\n")
    found = resolve("python -m pytest -q tests", tmp_path)
    assert (found.command, found.reason) == (
        "python -m pytest -q tests",
        "test_command in directives.yaml",
    )
    assert resolve(" auto ", tmp_path).command == "python -m pytest --doctest-modules"


def tox(commands: str, extra: str = "") -> dict[str, str]:
    return {"tox.ini": f"[tox]\nenvlist = py\n[testenv]\n{extra}commands =\n    {commands}\n"}


# tox substitutions as real projects write them (seen on python-dateutil 4.0.0, boltons
# 26.2.0, cachetools 8.0.2, attrs 26.1.0): the command tox would run without posargs
TOX_CASES = [
    # {posargs:DEFAULT} is DEFAULT when no arguments are given, with its own substitutions
    (tox('python -m pytest {posargs: "{toxinidir}/tests" "{toxinidir}/docs" '
         '--cov-config="{toxinidir}/tox.ini" --cov=dateutil}'),
     "python -m pytest ./tests ./docs --cov-config=./tox.ini --cov=dateutil", []),
    (tox("pytest {posargs:-x tests}"), "python -m pytest -x tests", []),
    # tox 4's name for toxinidir; the installed package is the checkout's own
    ({**tox("pytest --doctest-modules {env_site_packages_dir}/boltons {tox_root}/tests "
            "{posargs}", "changedir = .tox\n"), "boltons/__init__.py": ""},
     "python -m pytest --doctest-modules boltons ./tests", ["changedir"]),
    ({**tox("pytest {envsitepackagesdir}/pkg"), "src/pkg/__init__.py": ""},
     "python -m pytest src/pkg", []),
    (tox("pytest {envsitepackagesdir}/gone -q"), "python -m pytest -q", []),
    # an unknown substitution drops its word, and an option left without its value too
    (tox("py.test --basetemp={envtmpdir} --cov=cachetools {posargs}"),
     "python -m pytest --cov=cachetools", []),
    (tox("pytest --basetemp {envtmpdir} -q"), "python -m pytest -q", []),
    (tox("pytest {env:PYTEST_EXTRA:-q} tests"), "python -m pytest -q tests", []),
    (tox("pytest {unbalanced tests"), "python -m pytest", []),
    # setenv comes along (python-dateutil 4.0.0: PYTEST_ADDOPTS starts xdist workers); an
    # entry with a substitution ratchet cannot know, and the sandbox's own names, do not
    (tox("pytest tests", "setenv =\n    COVERAGE_FILE={toxworkdir}/.coverage.{envname}\n"
         "    PYTEST_ADDOPTS=-n auto --dist worksteal {env:PYTEST_ADDOPTS:}\n"
         "    PATH = {env:PATH}:/opt\n    TZ = UTC\n"),
     "PYTEST_ADDOPTS='-n auto --dist worksteal' TZ=UTC python -m pytest tests",
     ["with setenv PYTEST_ADDOPTS, TZ"]),
    # pluggy 1.7.0: a factor-conditional line is tox's business; a one-line setenv
    (tox("pytest", "setenv=\n  _SKIP_DEP=1\n  coverage: _CMD=coverage run -m pytest\n"),
     "_SKIP_DEP=1 python -m pytest", []),
    (tox("pytest", "setenv = A=1\n"), "A=1 python -m pytest", []),
    # an env's own setenv replaces [testenv]'s, which {[testenv]setenv} brings back
    ({"tox.ini": "[tox]\nenvlist = lint\n[testenv]\nsetenv = A=1\n  B=2\n"
                 "[testenv:lint]\nsetenv =\n  {[testenv]setenv}\n  B=3\n"
                 "commands = pytest -q\n"},
     "A=1 B=3 python -m pytest -q", []),
    ({"tox.ini": "[tox]\nenvlist = lint\n[testenv]\nsetenv = A=1\n"
                 "[testenv:lint]\ncommands = pytest -q\n"},
     "A=1 python -m pytest -q", []),
    # natsort 8.4.0: an env runs every command; the suite is the widest pytest one, not
    # the first (README doctests), nor the package's doctests
    ({**tox("{envpython} -m doctest docs/howitworks.rst\n    pytest README.rst docs/x.rst\n"
            "    pytest --doctest-modules {envsitepackagesdir}/natsort\n"
            "    # Full test suite.\n"
            "    pytest --hypothesis-profile=slow-tests --tb=short --cov "
            "{envsitepackagesdir}/natsort --cov-report term-missing {posargs:}"),
      "natsort/__init__.py": ""},
     "python -m pytest --hypothesis-profile=slow-tests --tb=short --cov natsort --cov-report "
     "term-missing", ["the widest of its 3 pytest commands"]),
    ({**tox("pytest README.rst\n    pytest tests/test_a.py"), "tests/test_a.py": ""},
     "python -m pytest tests/test_a.py", []),
    (tox("pytest README.rst\n    pytest docs/more.md"), "python -m pytest README.rst", []),
    # tox's interpreter, and a command continued on the next line
    (tox("{envpython} -m pytest -q \\\n        --strict-markers"),
     "python -m pytest -q --strict-markers", []),
]  # fmt: skip


@pytest.mark.parametrize(("files", "command", "reasons"), TOX_CASES)
def test_tox_substitutions(
    tmp_path: Path, files: dict[str, str], command: str, reasons: list[str]
) -> None:
    for rel, text in files.items():
        write(tmp_path / rel, text)
    found = discover(tmp_path)
    assert found.command == command, found.reason
    for fragment in reasons:
        assert fragment in found.reason, found.reason
