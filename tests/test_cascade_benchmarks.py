"""The cascade benchmarks run end to end on a small generated project: their tables print
(CI's log shows them) and the steps they read are the steps a cycle records — a renamed
timing key would otherwise leave a column at zero and the table would still look fine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.git_testing import IDENTITY_ENV
from tests.repo_helpers import ROOT, git

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]
SMALL = ("--tests", "20", "--work", "200", "--rounds", "1")


def benchmark(script: str) -> str:
    run = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *SMALL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(run.stdout)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def ratio(out: str, label: str) -> float:
    found = re.search(rf"^{re.escape(label)}\s+([0-9.]+)x$", out, re.MULTILINE)
    assert found, f"no {label!r} line in:\n{out}"
    return float(found.group(1))


def test_fail_fast_reads_the_step_that_rejected() -> None:
    out = benchmark("fail_fast.py")
    assert ratio(out, "rejected in / full suite (ratchet's):") > 0
    assert ratio(out, "early stage / full suite (ratchet's):") > 0  # the rejecting step's time
    assert re.search(r"^\s+1\s.*\b(selected|full), [1-9]", out, re.MULTILINE), out


def test_gate_overhead_times_a_merged_candidate() -> None:
    out = benchmark("gate_overhead.py")
    assert re.search(r"^\s+1\s.*\bmerged$", out, re.MULTILINE), out
    assert ratio(out, "ratchet / plain:") > 1  # a cycle does more than the tests alone
    assert "tests " in out.rsplit("largest steps", 1)[-1]


def test_a_repository_given_by_path_keeps_its_build_s_version_file(tmp_path: Path) -> None:
    """``--repo PATH`` clones the commits; the version file hatch-vcs wrote (ignored by
    git) is carried into the clone as the user's checkout has it, or the package would not
    import there (humanize 4.17)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from cascade_project import _carry_generated

    source, clone = tmp_path / "source", tmp_path / "clone"
    source.mkdir()
    (source / "pyproject.toml").write_text(
        '[tool.hatch.build.hooks.vcs]\nversion-file = "pkg/_version.py"\n'
    )
    (source / ".gitignore").write_text("pkg/_version.py\n")
    (source / "pkg").mkdir()
    (source / "pkg" / "__init__.py").write_text("from pkg._version import version\n")
    (source / "pkg" / "_version.py").write_text("version = '1.0'\n")
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "project", env=IDENTITY_ENV)
    git(tmp_path, "clone", "-q", str(source), str(clone))
    assert not (clone / "pkg" / "_version.py").exists()
    _carry_generated(source, clone)
    assert (clone / "pkg" / "_version.py").read_text() == "version = '1.0'\n"
