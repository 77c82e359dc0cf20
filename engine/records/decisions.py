"""Memory of human decisions: what a human rejected or reverted is never proposed again.

A human decides in one of three ways, and each is recognised from git alone (so a fresh
clone remembers it too):

- ``ratchet review reject ID`` — the candidate's commit is archived under
  ``refs/ratchet/rejected/<goal>/<n>`` with a snapshot whose ``human`` key holds the action
  and the reason (see :mod:`engine.records.review`);
- ``ratchet revert SHA`` — a revert commit with ``Ratchet-Reverts: <sha>``;
- a plain ``git revert`` of a ratchet commit — "This reverts commit <sha>." where <sha>
  carries ``Ratchet-*`` trailers.

Entries are cycle dicts like the journal's (``outcome: "reverted"`` or ``"rejected"``, a
``human`` map ``{action, reason, at, commit}``) and keep the reverted change's
``fingerprint``. :func:`blocked` is the duplicate check: a change a human turned down is
blocked for every goal whatever the rules; a change the rules rejected is blocked only
while the rules are the same (``rules_fingerprint``), so fixing a rule lets it be tried
again. ``ratchet retry ID`` re-evaluates one explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine.vcs import Repository, parse_trailers

REVERTS_TRAILER = "Ratchet-Reverts"
_REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")


def reverted_commit(message: str) -> str | None:
    """The commit a revert commit's message says it reverts, or None."""
    trailer = parse_trailers(message).get(REVERTS_TRAILER)
    if trailer:
        return trailer.strip().split()[0]
    found = _REVERTS.search(message)
    return found.group(1) if found else None


def reverts_in_git(repo: Repository, target: str) -> list[dict[str, Any]]:
    """One entry per revert of a ratchet commit on ``target`` (ratchet's or a plain
    ``git revert``), oldest first. Reverts of commits without ``Ratchet-*`` trailers are
    not ratchet's business and are left out."""
    found: list[dict[str, Any]] = []
    commits = repo.log_entries(
        f"refs/heads/{target}", grep=("This reverts commit", f"{REVERTS_TRAILER}:")
    )
    for sha, date, message in reversed(commits):
        original = reverted_commit(message)
        full = repo.rev_parse(original) if original else None
        if full is None:
            continue
        trailers = parse_trailers(repo.commit_message(full))
        goal, cycle = trailers.get("Ratchet-Goal"), trailers.get("Ratchet-Cycle")
        if not goal:
            continue
        snapshot = _snapshot(repo, full, cycle)
        found.append(
            {
                "cycle_id": f"{cycle or full[:12]}-reverted",
                "goal": goal,
                "outcome": "reverted",
                "summary": snapshot.get("summary") or repo.commit_message(full).partition("\n")[0],
                "message": f"reverted by {sha[:12]} ({message.partition(chr(10))[0]})",
                "commit": sha,
                "fingerprint": snapshot.get("fingerprint", ""),
                "started": date,
                "finished": date,
                "human": {"action": "reverted", "reason": "", "at": date, "commit": full},
            }
        )
    return found


def _snapshot(repo: Repository, commit: str, cycle: str | None) -> dict[str, Any]:
    import json

    if not cycle:
        return {}
    from engine.records.render import snapshot_path

    text = repo.show_file(commit, snapshot_path(cycle))
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def human_decisions(history: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The entries of ``history`` that record a human's decision."""
    return [e for e in history if (e.get("human") or {}).get("action")]


def blocked(
    fingerprint: str, rules_fingerprint: str, history: Iterable[Mapping[str, Any]]
) -> str | None:
    """Why the change with ``fingerprint`` must not be evaluated again, or None.

    Blocked: a human rejected or reverted it (any goal, any rules); or the rules rejected it
    under the same ``rules_fingerprint`` (an entry without one predates rule fingerprints
    and counts as the same rules)."""
    if not fingerprint:
        return None
    for entry in history:
        if entry.get("fingerprint") != fingerprint:
            continue
        human = entry.get("human") or {}
        if human.get("action"):
            reason = f": {human['reason']}" if human.get("reason") else ""
            return (
                f"a human {human['action']} this change before ({entry.get('cycle_id')}{reason}); "
                "not proposed again — `ratchet retry` re-evaluates it explicitly"
            )
        seen = entry.get("rules_fingerprint")
        if entry.get("outcome") == "rejected" and (not seen or seen == rules_fingerprint):
            return (
                f"the proposal repeats a change rejected before ({entry.get('cycle_id')}) "
                "under the same rules; not evaluated — `ratchet retry` re-evaluates it"
            )
    return None


def decision_reasons(history: Iterable[Mapping[str, Any]], goal_id: str) -> tuple[str, ...]:
    """The human decisions about ``goal_id``, as lines for the provider's context."""
    out = []
    for entry in human_decisions(history):
        if entry.get("goal") != goal_id:
            continue
        human = entry.get("human") or {}
        reason = f" because: {human['reason']}" if human.get("reason") else ""
        out.append(
            f"HUMAN DECISION: a human {human.get('action')} "
            f"{entry.get('summary') or '(no summary)'!r}{reason}"
        )
    return tuple(out)
