"""The CLI: one place maps errors to exit codes, every exit code is defined once (in
engine/cli/exits.py) and documented in the README, only the output layer prints, and
``ratchet --help`` loads none of the heavy machinery."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from engine.cli import exits
from engine.cli.app import COMMANDS, guard
from engine.cli.signals import Terminated
from engine.errors import (
    ConfigError,
    ConfigIssue,
    DaemonError,
    GitError,
    InputError,
    ProviderError,
)
from tests.import_graph import ROOT
from tests.repo_helpers import child_python, make_repo, ratchet, write

ENGINE_FILES = sorted(p for p in (ROOT / "engine").rglob("*.py") if "demo/sample" not in str(p))


def _raises(error: BaseException) -> Callable[[], int | None]:
    def fn() -> int | None:
        raise error

    return fn


ISSUE = ConfigIssue("goals.yaml", 3, 5, "goals[0].id", "missing", "add an id")


@pytest.mark.parametrize(
    ("fn", "code", "stderr"),
    [
        (lambda: None, exits.EXIT_OK, ""),
        (lambda: exits.EXIT_ERROR, exits.EXIT_ERROR, ""),
        (_raises(ConfigError(ISSUE)), exits.EXIT_CONFIG, "goals.yaml:3:5: goals[0].id: missing"),
        (_raises(InputError("no such plan")), exits.EXIT_CONFIG, "ratchet: no such plan"),
        (_raises(DaemonError("lock held")), exits.EXIT_LOCKED, "ratchet: lock held"),
        (_raises(GitError(["status"], 128, "boom")), exits.EXIT_ERROR, "ratchet: git status"),
        (_raises(ProviderError("down")), exits.EXIT_ERROR, "ratchet: down"),
        (_raises(Terminated("signal 15")), exits.EXIT_TERMINATED, "ratchet: stopped: signal 15"),
        (_raises(ValueError("bug")), exits.EXIT_ERROR, "ratchet: internal error: ValueError"),
    ],
)
def test_guard_maps_the_error_tree_to_exit_codes(
    fn: Callable[[], int | None], code: int, stderr: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as done:
        guard(fn)
    assert done.value.exit_code == code
    err = capsys.readouterr().err
    assert stderr in err and (err == "") == (stderr == "")


def _module_level_exit_names(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and target.id.startswith("EXIT_")
    ]


def _literal_exits(path: Path) -> list[str]:
    """Calls that exit with a number written in place: typer.Exit(2), sys.exit(3), ..."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = ast.unparse(node.func)
            if name in {"typer.Exit", "sys.exit", "SystemExit", "exit", "os._exit"}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_exit_codes_are_defined_only_in_exits_py() -> None:
    defined = {
        str(p.relative_to(ROOT)): names
        for p in ENGINE_FILES
        if (names := _module_level_exit_names(p))
    }
    assert list(defined) == ["engine/cli/exits.py"]
    assert [line for p in ENGINE_FILES for line in _literal_exits(p)] == []


def test_the_exit_code_table_is_complete_and_in_the_readme() -> None:
    codes = {getattr(exits, n) for n in dir(exits) if n.startswith("EXIT_") and n != "EXIT_CODES"}
    assert set(exits.EXIT_CODES) == codes
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    for code in codes:
        assert f"| {code} " in section, f"README's exit codes table lacks {code}"


def test_only_the_output_layer_prints() -> None:
    printers = []
    for path in ENGINE_FILES:
        if path == ROOT / "engine" / "cli" / "output.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in {
                "print",
                "typer.echo",
                "typer.secho",
                "sys.stdout.write",
                "sys.stderr.write",
                "traceback.print_exc",
            }:
                printers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert printers == []


HEAVY = ("libcst", "celpy", "radon", "git", "google", "httpx", "openai", "engine.compose")
HEAVY += ("engine.cycle", "engine.gate", "engine.daemon", "engine.providers", "engine.vcs")


def test_help_imports_none_of_the_heavy_machinery() -> None:
    # said at exit (the CLI ends the process itself once its atexit handlers have run)
    probe = (
        "import atexit, sys\n"
        "def heavy():\n"
        f"    found = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}"
        f" or m.startswith({HEAVY!r}))\n"
        "    print(repr(found), file=sys.stderr)\n"
        "atexit.register(heavy)\n"
        "sys.argv = ['ratchet', '--help']\n"
        "from engine.cli import main\n"
        "main()\n"
    )
    done = child_python("-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert all(name in done.stdout for name in COMMANDS)


def test_the_console_script_is_the_cli_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {"ratchet": "engine.cli:main"}
    from engine.cli import main
    from engine.cli.app import app

    assert callable(main) and {c.name for c in app.registered_commands} == set(COMMANDS)


def _help(app: typer.Typer, *args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    done = CliRunner().invoke(app, [*args, "--help"], prog_name="ratchet")
    return done.exit_code, done.output


def test_the_app_built_for_one_command_helps_and_refuses_like_the_whole_app() -> None:
    from engine.cli.app import GROUPS, app, app_for

    assert app_for([]) is app and app_for(["--help"]) is app and app_for(["statsu"]) is app
    only = app_for(["status", "--repo", "."])
    assert [c.name for c in only.registered_commands] == ["status"]
    assert not only.registered_groups
    assert [g.name for g in app_for(["review"]).registered_groups] == ["review"]
    lines = [(name,) for name in COMMANDS] + [(group,) for group in GROUPS]
    lines += [(group, sub) for group, (table, _) in GROUPS.items() for sub in table]
    for line in lines:
        assert _help(app_for(line), *line) == _help(app, *line), line
    from typer.testing import CliRunner

    for bad in (["status", "--bogus"], ["review", "bogus"], ["pin"]):
        slim = CliRunner().invoke(app_for(bad), bad, prog_name="ratchet")
        whole = CliRunner().invoke(app, bad, prog_name="ratchet")
        assert (slim.exit_code, slim.output) == (whole.exit_code, whole.output), bad


def test_the_daemon_reads_exit_codes_without_loading_the_cli_app() -> None:
    probe = "import sys, engine.cli.exits; assert 'engine.cli.app' not in sys.modules"
    done = child_python("-c", probe)
    assert done.returncode == 0, done.stderr


def test_real_commands_exit_with_the_documented_codes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo / "goals.yaml", "version: 1\ngoals:\n  - {description: no id}\n")
    cases = [
        (("check", "--repo", str(repo)), exits.EXIT_CONFIG, "goals.yaml:3:"),
        (("status", "--repo", str(tmp_path / "missing")), exits.EXIT_CONFIG, "not a directory"),
        (("pin", "--repo", str(repo), "--", "-x"), exits.EXIT_CONFIG, "is not a commit"),
        (("log", "--repo", str(repo)), exits.EXIT_OK, ""),
    ]
    for args, code, stderr in cases:
        run = ratchet(*args)
        assert (run.code, stderr in run.stderr) == (code, True), (args, run.stderr)
