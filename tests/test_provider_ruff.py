"""The ruff provider: real ruff fixes files through stdin/stdout, and the ruff child sees a
minimal environment (no secret of the parent reaches it)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from engine.model import Goal
from engine.providers.base import ProposalRequest
from engine.providers.ruff import PASSED_THROUGH, RuffFixProvider, ruff_environment

SECRETS = {"GEMINI_API_KEY": "AIzaSECRET", "RATCHET_TEST_TOKEN": "tok-123"}


def _request(root: Path, files: tuple[str, ...], **options: object) -> ProposalRequest:
    # allow: F401 in a public module is skipped otherwise (test_provider_ruff_reexports.py)
    goal = Goal(id="lint", description="fix lint", options=dict(options), allow=("api-change",))
    return ProposalRequest(goal=goal, root=root, files=files)


def _fake_ruff(tmp_path: Path) -> tuple[Path, Path]:
    """A ``ruff`` that dumps its environment as JSON and echoes stdin (no change)."""
    dump = tmp_path / "env.json"
    fake = tmp_path / "bin" / "ruff"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(dump)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        "sys.stdout.write(sys.stdin.read())\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake, dump


def test_the_ruff_child_sees_no_secret_of_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    fake, dump = _fake_ruff(tmp_path)
    (tmp_path / "a.py").write_text("import os\n", encoding="utf-8")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")

    proposal = RuffFixProvider(binary="ruff").propose(
        _request(tmp_path, ("a.py",), select=["F401"])
    )

    assert proposal.edits == ()  # the fake changes nothing
    seen = json.loads(dump.read_text(encoding="utf-8"))
    assert not set(SECRETS) & set(seen)
    assert not set(SECRETS.values()) & set(seen.values())
    assert set(seen) - {"PWD", "SHLVL", "_"} <= {
        *PASSED_THROUGH,
        "HOME",
        "XDG_CACHE_HOME",
        "XDG_CONFIG_HOME",
        "RUFF_NO_CACHE",
    }
    assert seen["PATH"] == os.environ["PATH"]
    assert seen["HOME"] != os.environ.get("HOME")
    assert not Path(seen["HOME"]).exists()  # a private temporary home, removed afterwards


def test_real_ruff_fixes_a_file_under_the_minimal_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "a.py").write_text("import os\nimport sys\n\nprint(sys.argv)\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("x = 1\n", encoding="utf-8")

    proposal = RuffFixProvider().propose(_request(tmp_path, ("a.py", "b.py"), select=["F401"]))

    assert [(e.file, e.op, e.code) for e in proposal.edits] == [
        ("a.py", "rewrite", "import sys\n\nprint(sys.argv)\n")
    ]
    assert (tmp_path / "a.py").read_text(encoding="utf-8").startswith("import os")  # not written


@pytest.mark.parametrize(
    ("parent", "expected"),
    [
        (
            {"PATH": "/bin", "LANG": "de_DE.UTF-8", "GEMINI_API_KEY": "k", "HOME": "/root"},
            {"PATH": "/bin", "LANG": "de_DE.UTF-8"},
        ),
        ({"PATH": "/bin", "RUFF_SELECT": "ALL", "OPENAI_API_KEY": "k"}, {"PATH": "/bin"}),
        ({}, {}),
    ],
)
def test_ruff_environment(parent: dict[str, str], expected: dict[str, str]) -> None:
    home = Path("/tmp/ruff-home")
    assert ruff_environment(parent, home) == {
        "LANG": "C.UTF-8",
        **expected,
        "HOME": "/tmp/ruff-home",
        "XDG_CACHE_HOME": "/tmp/ruff-home/cache",
        "XDG_CONFIG_HOME": "/tmp/ruff-home/config",
        "RUFF_NO_CACHE": "true",
    }


def test_real_ruff_fixes_the_file_with_the_most_debt_first(tmp_path: Path) -> None:
    # b.py holds three unused imports, a.py one, c.py none: with room for one file,
    # the fix goes to b.py although a.py sorts first by name.
    (tmp_path / "a.py").write_text("import os\n\nx = 1\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("import os\nimport re\nimport sys\n\ny = 2\n", encoding="utf-8")
    (tmp_path / "c.py").write_text("z = 3\n", encoding="utf-8")
    files = ("a.py", "b.py", "c.py")

    one = RuffFixProvider().propose(_request(tmp_path, files, select=["F401"], max_files=1))
    two = RuffFixProvider().propose(_request(tmp_path, files, select=["F401"], max_files=2))

    assert [e.file for e in one.edits] == ["b.py"]
    assert [e.file for e in two.edits] == ["b.py", "a.py"]
    assert one.edits[0].code == "\ny = 2\n"  # the imports are gone, the blank line stays
