"""A stand-in for the GitHub CLI ``gh`` on PATH: it records every call's arguments (one
line each) and keeps the branches of its "open PRs" in a file, answering ``auth status``,
``pr list``, ``pr create``, ``pr edit`` and ``pr close`` as gh would."""

from __future__ import annotations

import os
from pathlib import Path

GH = """#!/bin/sh
# a stand-in for the GitHub CLI: records its arguments, keeps "open PRs" in a file
echo "$*" >> "{log}"
case "$1 $2" in
  "auth status") exit 0 ;;
  "pr list") b="$4"; if grep -qx "$b" "{open}" 2>/dev/null; then
      echo "[{{\\"number\\": 7, \\"url\\": \\"https://example.invalid/pr/7\\"}}]"
    else echo "[]"; fi ;;
  "pr create") while [ "$1" != "--head" ]; do shift; done; echo "$2" >> "{open}"
      echo "https://example.invalid/pr/new" ;;
  "pr close") grep -vx "$3" "{open}" > "{open}.tmp"; mv "{open}.tmp" "{open}" ;;
esac
"""


def install_gh(bin_dir: Path, log: Path) -> str:
    """Write ``bin_dir/gh`` (calls recorded in ``log``); returns a PATH with it first."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "gh"
    script.write_text(GH.format(log=log, open=log.with_suffix(".open")), encoding="utf-8")
    os.chmod(script, 0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
