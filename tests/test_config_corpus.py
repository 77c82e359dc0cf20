"""The malformed-config corpus (tests/config_corpus/, see config_corpus_cases.py): every file
is refused (exit 2) or warned about (exit 0) with FILE:LINE:COL and the expected message,
never a traceback, never the content of a file outside the repository — in-process for
every change, and through ``python -m engine.cli check`` in a child process (slow) with its
CPU time and peak RSS measured."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.config.environment import check_repository, known_ruff_codes
from tests.config_corpus_cases import (
    CANARY,
    PASSWD_MARK,
    Case,
    load_cases,
    plant,
    template_repo,
    tracked_files,
)

ROOT = Path(__file__).resolve().parents[1]
CASES = load_cases()
LOCATED = re.compile(r"^(?:goals\.yaml|directives\.yaml|rules/[^:]*):\d+:\d+: ")
CPU_SECONDS = 2.5  # user + system of one `check` child, interpreter start included
RSS_MARGIN_MB = 40  # over the same command on a valid configuration


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_repo(tmp_path_factory.mktemp("corpus") / "template")


@pytest.fixture(scope="module")
def ruff_codes(template: Path) -> frozenset[str]:
    codes = known_ruff_codes(template)
    assert "F401" in codes and "UP006" in codes
    return codes


def test_the_corpus_is_large_and_covers_every_file() -> None:
    assert len(CASES) >= 90
    targets = {c.target.split("/")[0] for c in CASES}
    assert targets == {"goals.yaml", "directives.yaml", "rules"}
    makes = {c.make for c in CASES}
    assert {"fifo", "huge", "symlink-out", "symlink-passwd", "directory"} <= makes
    for case in CASES:
        assert case.exit in (0, 2), case.name
        assert case.expect or case.exit == 0, f"{case.name}: an error case needs an expect line"


@pytest.fixture(scope="module")
def tracked(template: Path) -> list[str]:
    return tracked_files(template)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_in_process(
    case: Case, template: Path, tracked: list[str], ruff_codes: frozenset[str], tmp_path: Path
) -> None:
    repo = plant(case, template, tmp_path, git=False)
    start = time.process_time()  # CPU, not wall: the machine may be busy
    report = check_repository(repo, tracked=lambda _: tracked, env={}, ruff_codes=ruff_codes)
    elapsed = time.process_time() - start
    lines = [i.render() for i in report.errors + report.warnings]
    assert (2 if report.errors else 0) == case.exit, "\n".join(lines)
    _assert_output(case, lines)
    assert elapsed < 1.0, f"{case.name} took {elapsed:.2f} s of CPU"


@pytest.fixture(scope="module")
def rss_limit_mb(template: Path) -> float:
    baseline = _cli(template)
    assert baseline.code == 0, baseline.stderr
    return baseline.rss_mb + RSS_MARGIN_MB


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=str)
def test_through_the_cli_in_a_child_process(
    case: Case, template: Path, rss_limit_mb: float, tmp_path: Path
) -> None:
    run = _cli(plant(case, template, tmp_path))
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.code == case.exit, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    _assert_output(case, lines, stdout=run.stdout)
    assert run.cpu < CPU_SECONDS, f"{run.cpu:.2f} s of CPU"
    assert run.rss_mb < rss_limit_mb, f"{run.rss_mb:.0f} MB peak RSS (limit {rss_limit_mb:.0f})"


# --------------------------------------------------------------------------- helpers


def _assert_output(case: Case, lines: list[str], stdout: str = "") -> None:
    text = "\n".join(lines) + stdout
    assert CANARY not in text and PASSWD_MARK not in text, "echoed a file outside the repo"
    issue_lines = [line for line in lines if not line.startswith("ratchet:")]
    for line in issue_lines:
        assert LOCATED.match(line), f"no FILE:LINE:COL in {line!r}"
    for fragment in case.expect:
        assert any(fragment in line for line in issue_lines), (
            f"{case.name}: expected {fragment!r} in:\n" + "\n".join(issue_lines)
        )


class _Run:
    def __init__(self, code: int, stdout: str, stderr: str, cpu: float, rss_kb: int) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr
        self.cpu = cpu
        self.rss_mb = rss_kb / 1024


def _cli(repo: Path, timeout: float = 60.0) -> _Run:
    """``python -m engine.cli check --repo REPO``, reaped with wait4 for its own rusage."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEMINI", "GOOGLE_API", "GOOGLE_GEMINI", "OPENAI"))
    }
    env["PYTHONPATH"] = str(ROOT)
    out, err = repo.parent / "stdout", repo.parent / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "check", "--repo", str(repo)],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    killer = threading.Timer(timeout, proc.kill)  # a blocked check would otherwise hang
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return _Run(
        proc.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss,
    )
