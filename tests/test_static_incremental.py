"""Incremental static metrics: per-file radon/ruff/bandit results cached by blob id.

The project is real code (a copy of three of ratchet's own packages, ~5.5k lines, under a
ruff config that selects rules with findings there), measured by the real tools. The
candidate edits, adds, deletes and renames files; its totals measured incrementally (the
baseline's entries in the cache) must equal a cold full measurement exactly, and a second
measurement of content already seen must run no tool at all (counted from the log lines
of the host tool runner and the cache lookups, and from the cache's entries).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.gate.evaluation.filecache import FileCache, blob_id
from engine.gate.evaluation.probes.complexity import measure_complexity
from engine.gate.evaluation.probes.lint import measure_lint
from engine.gate.evaluation.probes.security import measure_security
from engine.gate.paths import is_test_file

ENGINE = Path(__file__).resolve().parents[1] / "engine"
PACKAGES = ("gate/guards", "vcs", "patching")
PYPROJECT = """\
[tool.ruff]
line-length = 88
[tool.ruff.lint]
select = ["E", "F", "B", "S", "UP", "SIM", "I", "C90", "PLR"]
"""


def make_project(root: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ENGINE / package, root / "engine" / package)
    for folder in [root / "engine", root / "engine" / "gate"]:
        (folder / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def change(root: Path) -> None:
    """One of each: edit, add, delete, pure rename, rename with an edit."""
    guards = root / "engine" / "gate" / "guards"
    edited = guards / "markers.py"
    edited.write_text(
        edited.read_text() + "\n\ndef risky(cmd, x):\n"
        "    import subprocess\n"
        "    if x == None:\n"
        "        return subprocess.call(cmd, shell=True)\n"
        "    return eval(cmd)\n"
    )
    (root / "engine" / "vcs" / "added.py").write_text(
        "import pickle,os\n\ndef load(b):\n  assert b\n  return pickle.loads(b)\n"
    )
    (guards / "api.py").unlink()
    (guards / "pyast.py").rename(guards / "syntax_tree.py")
    moved = root / "engine" / "patching" / "plan.py"
    text = moved.read_text()
    moved.unlink()
    (root / "engine" / "vcs" / "plan_moved.py").write_text(text + "\nX=1\n")


def python_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))


def measure(root: Path, cache: FileCache | None) -> tuple[object, ...]:
    files = python_files(root)
    sources = [f for f in files if not is_test_file(f)]
    complexity = measure_complexity(root, sources, cache=cache)
    lint = measure_lint(root, files, cache=cache)
    security = measure_security(root, sources, cache=cache)
    return (
        complexity.metrics,
        complexity.skipped,
        lint.metrics,
        lint.problems,
        security.metrics,
        security.problems,
    )


def tool_runs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith("probes.host")]


def lookups(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.endswith("filecache")]


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = make_project(tmp_path_factory.mktemp("base"))
    cand = tmp_path_factory.mktemp("cand")
    shutil.copytree(base, cand, dirs_exist_ok=True)
    change(cand)
    return {"base": base, "cand": cand, "cache": tmp_path_factory.mktemp("cache")}


@pytest.mark.slow
def test_incremental_totals_equal_a_full_measurement(
    trees: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileCache(trees["cache"] / "a")
    full_base = measure(trees["base"], None)
    assert measure(trees["base"], cache) == full_base  # cold cache: everything measured
    full = measure(trees["cand"], None)
    assert full != full_base  # the changes moved every kind of number
    caplog.set_level(logging.DEBUG, logger="engine.gate.evaluation")
    incremental = measure(trees["cand"], cache)
    assert incremental == full
    # ruff and bandit saw only the added, edited and renamed files; radon only new content
    # (the pure rename's blob is already known, wherever it lives)
    n = len(python_files(trees["cand"]))  # the copied packages grow with ratchet itself
    assert lookups(caplog) == [
        f"radon: {n - 3} of {n} file(s) from the cache, 3 to measure",
        f"ruff: {n - 4} of {n} file(s) from the cache, 4 to measure",
        f"bandit: {n - 4} of {n} file(s) from the cache, 4 to measure",
    ]
    assert len(tool_runs(caplog)) == 3  # ruff check, ruff format, bandit: once each


@pytest.mark.slow
def test_content_seen_before_runs_no_tool(
    trees: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileCache(trees["cache"] / "b")
    first = measure(trees["cand"], cache)
    entries = {tool: cache.entries(tool) for tool in ("radon", "ruff", "bandit")}
    files = python_files(trees["cand"])
    blobs = {blob_id((trees["cand"] / f).read_bytes()) for f in files}
    # radon is keyed by content alone: the empty __init__.py files share one entry
    assert len(blobs) < len(files)
    assert entries == {"radon": len(blobs), "ruff": len(files), "bandit": len(files)}
    again = shutil.copytree(trees["cand"], tmp_path / "elsewhere")  # same content, new root
    caplog.set_level(logging.DEBUG, logger="engine.gate.evaluation")
    assert measure(again, cache) == first
    assert tool_runs(caplog) == []
    seen = lookups(caplog)
    assert [line.split(":")[0] for line in seen] == ["radon", "ruff", "bandit"]  # all looked up
    assert all(line.endswith(", 0 to measure") for line in seen)
    assert {tool: cache.entries(tool) for tool in entries} == entries


def test_ruff_config_change_invalidates_ruff_entries(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n")
    cache = FileCache(tmp_path / ".cache")
    assert measure_lint(tmp_path, ["a.py"], cache=cache).metrics.violations == 1
    (tmp_path / "ruff.toml").write_text('[lint]\nignore = ["F401"]\n')
    assert measure_lint(tmp_path, ["a.py"], cache=cache).metrics.violations == 0
    assert cache.entries("ruff") == 2


def test_blob_id_is_gits(tmp_path: Path) -> None:
    data = b"print('hi')\n\x00binary"
    (tmp_path / "f").write_bytes(data)
    out = subprocess.run(
        ["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True
    )
    assert blob_id(data) == out.stdout.strip()
