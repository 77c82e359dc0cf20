"""``ratchet demo``: real cycles on a bundled sample project, no API key needed.

The sample (``engine/demo/sample``) is a small geometry library with real lint debt and
a test suite. Two goals drive the embedded ``ruff`` provider: one modernises a module
(tests stay green, lint drops: merged; its unused imports stay, since removing a name from
a public module is an API change), one removes "unused" imports from the API module that
are in fact re-exports — its goal allows API changes, so ``guard-api-change`` records the
broken imports as allowed, and the failing tests reject it (kept under
refs/ratchet/rejected/).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

DEMO_GOALS = ("modernise-geometry", "prune-api-imports")


def _git(cwd: Path, *args: str) -> None:
    from engine.vcs import Git  # the one git runner, even for setting up the sample

    Git().run(*args, cwd=cwd)


def make_sample_repo(dest: Path) -> Path:
    """Copy the sample into ``dest`` and commit it as a user (not the bot) would."""
    sample = resources.files("engine.demo") / "sample"
    with resources.as_file(sample) as src:
        shutil.copytree(
            src,
            dest,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
        )
    return commit_sample(dest, "Sample project with lint debt")


def commit_sample(dest: Path, message: str) -> Path:
    """``dest`` made a fresh repository (``ratchet init`` run) with everything committed by a
    user (not the bot): the demo's and the audit's samples."""
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "config", "user.name", "Demo User")
    _git(dest, "config", "user.email", "demo@example.invalid")
    from engine.config.init import init_repo

    init_repo(dest, exclude_file=dest / ".git" / "info" / "exclude")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", message)
    return dest


def run_demo(keep: Path | None, *, echo: Callable[[str], None]) -> None:
    from engine.cli.output import render_report
    from engine.compose import run_one_cycle
    from engine.records.history import load_history
    from engine.records.logview import format_entry
    from engine.vcs import REJECTED_REFS, Repository

    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="ratchet-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    repo_dir = make_sample_repo(root)
    echo(f"demo repository: {repo_dir}")
    before = Repository.open(repo_dir).rev_parse("refs/heads/main")
    for goal in DEMO_GOALS:
        echo(f"\n== ratchet run-once --repo {repo_dir} --goal {goal}")
        for report in run_one_cycle(repo_dir, goal_id=goal):
            echo(render_report(report))
    repo = Repository.open(repo_dir)
    echo(f"\n== ratchet log --repo {repo_dir}")
    echo("\n\n".join(format_entry(e.to_json()) for e in load_history(repo)))
    after = repo.rev_parse("refs/heads/main")
    echo(
        f"\nmain: {str(before)[:12]} -> {str(after)[:12]}; "
        f"rejected refs: {', '.join(repo.list_refs(REJECTED_REFS)) or 'none'}"
    )
    echo(
        f"records: {repo_dir}/snapshots/ and {repo_dir}/memory-bank/cycles/ "
        "(merged), `git show <rejected ref>` (rejected)"
    )
    echo(
        f"\nnext: `ratchet review list --repo {repo_dir}` shows candidates kept for you "
        "(set `merge: review` in directives.yaml to review every change), "
        f"`ratchet review show prune-api-imports/1 --repo {repo_dir}` the rejected one "
        "with its diff and every rule's values; "
        f"`ratchet report --repo {repo_dir} --open` draws the history as a static HTML page"
    )
