"""What the CLI benchmarks share (not a benchmark itself): a bot-identity ``git``, the real
CLI in a child process, and the scratch repository commands are timed in."""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> str:
    """``git ARGS`` in ``cwd`` as the benchmark's author; its stdout, or exit with stderr."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def compiled() -> None:
    """Byte-compile ratchet's own modules once, as an install does: with
    ``PYTHONDONTWRITEBYTECODE`` set (this machine sets it), every child would otherwise
    compile ``engine/`` from source at each start (~0.2 s of every timed command)."""
    global _compiled
    if not _compiled:
        compileall.compile_dir(ROOT / "engine", quiet=1)
        _compiled = True


_compiled = False


def ratchet(*args: str) -> subprocess.CompletedProcess[str]:
    """``ratchet ARGS`` from this checkout in a child process (its modules compiled)."""
    compiled()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], env=env, capture_output=True, text=True
    )


def initialised_repo(root: Path, env: dict[str, str]) -> Path:
    """A one-file git repository at ``root`` (created) after ``ratchet init``."""

    def sh(*args: str) -> None:
        subprocess.run(args, cwd=root, env=env, check=True, capture_output=True)

    root.mkdir()
    sh("git", "init", "-q", "-b", "main")
    (root / "app.py").write_text("def f():\n    return 1\n")
    sh("git", "add", "-A")
    sh("git", "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", "x")
    sh(sys.executable, "-m", "engine.cli", "init", "--repo", str(root))
    return root
