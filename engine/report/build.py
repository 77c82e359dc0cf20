"""``ratchet report``: read a repository's history, write the static report.

Writes ``<out>/index.html`` (one page, charts inline) and, per candidate whose commit is
in this clone, ``<out>/diffs/<cycle-id>.html`` (readable) and ``.diff`` (for ``git
apply``), without ratchet's own record files. Reads only: the journal if there is one,
the snapshots and human decisions in git (so a fresh clone works), never the user's
working tree. An empty history gives a page that says so.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import GitError
from engine.records.evidence import record_commits
from engine.records.timeline import full_history
from engine.records.view import without_records
from engine.report.data import GoalReport, summarise
from engine.report.page import render_diff_page, render_page
from engine.vcs import Repository, parse_trailers

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, kw_only=True)
class Written:
    index: Path
    goals: tuple[GoalReport, ...]
    diffs: int
    cycles: int


def _base(repo: Repository, entry: Mapping[str, Any], commit: str) -> str | None:
    """What the candidate was made on: the target it judged against when that is an
    ancestor in this clone, else its parent (None when ``commit`` is not here)."""
    before = str(entry.get("target_before") or "")
    if before:
        try:
            if repo.is_ancestor(before, commit):
                return before
        except GitError:  # either commit is not in this clone
            pass
    return repo.rev_parse(f"{commit}^")


def commits_by_cycle(repo: Repository, target: str | None) -> dict[str, str]:
    """Cycle id -> its commit, from git alone (a snapshot cannot name the commit it is in):
    ratchet's commits on the target, then what ``log`` finds (HEAD, ratchet's branches,
    local or remote-tracking, and archives: one git process per ref namespace)."""
    found: dict[str, str] = {}
    if target:
        commits = repo.log_entries(f"refs/heads/{target}", grep=("Ratchet-Cycle:",))
        for sha, _, message in reversed(commits):  # oldest first: a revert names it too
            cycle = parse_trailers(message).get("Ratchet-Cycle")
            if cycle:
                found.setdefault(cycle, sha)
    for cycle, sha in record_commits(repo).items():
        found.setdefault(cycle, sha)
    return found


def _diff(repo: Repository, entry: Mapping[str, Any], known: Mapping[str, str]) -> str | None:
    commit = str(entry.get("commit") or known.get(str(entry.get("cycle_id"))) or "")
    if not commit:
        return None
    base = _base(repo, entry, commit)
    if base is None:
        return None  # not in this clone (a rejected ref that was not fetched, say)
    try:
        return without_records(repo.diff(base, commit))
    except GitError:
        return None


def with_outlook(
    repo: Repository,
    target: str | None,
    history: Sequence[Mapping[str, Any]],
    goals: tuple[GoalReport, ...],
) -> tuple[GoalReport, ...]:
    """``goals`` with each one's plan progress and forecast, for the goals of the
    target's goals.yaml (read from git, never from the working tree)."""
    from engine.config.goals import check_goals
    from engine.config.yamlpos import load_yaml
    from engine.model.journal import JournalEntry
    from engine.records.planview import goal_outlook

    text = repo.show_file(target, "goals.yaml") if target and repo.rev_parse(target) else None
    if not text:
        return goals
    configured = {g.id: g for g in check_goals(load_yaml(text, "goals.yaml"))[0]}
    entries = [JournalEntry.from_json(e) for e in history]
    return tuple(
        replace(g, outlook=tuple(goal_outlook(repo, entries, configured[g.goal])))
        if g.goal in configured
        else g
        for g in goals
    )


def write_report(repo: Repository, target: str | None, out: Path) -> Written:
    """Build the report of ``repo`` (history judged against ``target``) into ``out``."""
    history = full_history(repo, target)
    goals = with_outlook(repo, target, history, summarise(history))
    by_cycle = {str(e.get("cycle_id")): e for e in history}
    diff_dir = out / "diffs"
    if diff_dir.is_dir():
        shutil.rmtree(diff_dir)  # our own output from an earlier run
    links: dict[str, str] = {}
    known = commits_by_cycle(repo, target)
    for goal in goals:
        for row in goal.rows:
            text = _diff(repo, by_cycle[row.cycle_id], known)
            if text is None:
                continue
            name = _SAFE.sub("_", row.cycle_id)
            diff_dir.mkdir(parents=True, exist_ok=True)
            (diff_dir / f"{name}.diff").write_text(text + "\n", encoding="utf-8")
            title = f"{row.goal}: {row.summary or row.cycle_id} ({row.outcome})"
            (diff_dir / f"{name}.html").write_text(render_diff_page(title, text), "utf-8")
            links[row.cycle_id] = f"diffs/{name}.html"
    tip = repo.rev_parse(f"refs/heads/{target}") if target else None
    meta = (
        f"{repo.root} · target {target or '(detached)'}"
        + (f" at {tip[:12]}" if tip else "")
        + f" · {len(history)} recorded entries · generated "
        + datetime.now(UTC).isoformat(timespec="seconds")
    )
    html = render_page(goals, title=f"ratchet report: {repo.root.name}", meta=meta, diffs=links)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    return Written(index=index, goals=goals, diffs=len(links), cycles=len(history))
