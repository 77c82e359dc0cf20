"""The scratch repository the CLI benchmarks time commands in (not a benchmark itself)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
