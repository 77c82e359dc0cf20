"""``ratchet log``'s data: the local journal merged with the snapshots kept in git
(the target branch's ``snapshots/``, review branches and ``refs/ratchet/rejected/*``),
so a fresh clone still shows every recorded cycle."""

from __future__ import annotations

import json
from typing import Any

from engine.records.journal import merge_history, read_journal
from engine.vcs import Repository


def snapshots_in_git(repo: Repository) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    heads = [repo.rev_parse("HEAD")]
    heads += list(repo.list_refs("refs/ratchet/").values())
    heads += list(repo.list_refs("refs/heads/ratchet/").values())
    seen: set[str] = set()
    for head in heads:
        if not head:
            continue
        for path in repo.ls_files(head):
            if not (path.startswith("snapshots/") and path.endswith(".json")) or path in seen:
                continue
            seen.add(path)
            text = repo.show_file(head, path)
            try:
                data = json.loads(text or "")
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                found.append(data)
    return found


def load_history(repo: Repository) -> list[dict[str, Any]]:
    return merge_history(read_journal(repo.state_dir), snapshots_in_git(repo))
