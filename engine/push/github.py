"""Draft pull requests through the GitHub CLI ``gh``: the only module that starts it.

Used only when ``gh`` is on PATH and ``gh auth status`` succeeds. Each call has a timeout,
never prompts (``GH_PROMPT_DISABLED``), and returns what happened instead of raising: a PR
that could not be opened is a recorded problem, never a failed cycle.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_TIMEOUT = 60.0


@dataclass(frozen=True)
class GhResult:
    ok: bool
    out: str
    error: str = ""


class GhCli:
    """``gh`` run in the repository's checkout (it finds the GitHub repository from the
    remotes there). The constructor does no I/O."""

    def __init__(self, root: Path, *, binary: str = "gh") -> None:
        self.root = root
        self.binary = binary

    def _run(self, *args: str) -> GhResult:
        path = shutil.which(self.binary)
        if path is None:
            return GhResult(False, "", f"{self.binary} is not installed")
        env = {**os.environ, "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1"}
        try:
            done = subprocess.run(  # noqa: S603 - a fixed binary, an argument list
                [path, *args],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return GhResult(False, "", f"gh {args[0]} {args[1] if len(args) > 1 else ''}: {exc}")
        error = (done.stderr.strip() or done.stdout.strip())[-500:]
        return GhResult(done.returncode == 0, done.stdout, "" if done.returncode == 0 else error)

    def ready(self) -> bool:
        """``gh`` installed and logged in."""
        return shutil.which(self.binary) is not None and self._run("auth", "status").ok

    def open_pr(self, branch: str) -> tuple[str, str] | None:
        """(number, url) of the open PR whose head is ``branch``, if any."""
        found = self._run("pr", "list", "--head", branch, "--state", "open", "--json", "number,url")
        try:
            rows = json.loads(found.out or "[]") if found.ok else []
        except json.JSONDecodeError:
            rows = []
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and "number" in row:
                return str(row["number"]), str(row.get("url", ""))
        return None

    def create(self, branch: str, base: str, title: str, body: Path) -> GhResult:
        return self._run(
            "pr", "create", "--draft", "--head", branch, "--base", base,
            "--title", title, "--body-file", str(body),
        )  # fmt: skip

    def edit(self, number: str, title: str, body: Path) -> GhResult:
        return self._run("pr", "edit", number, "--title", title, "--body-file", str(body))

    def close(self, branch: str, comment: str) -> GhResult:
        return self._run("pr", "close", branch, "--comment", comment)
