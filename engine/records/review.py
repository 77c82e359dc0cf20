"""Candidates awaiting a human, read from git refs and the records in their commits.

A candidate is awaiting review when a branch ``ratchet/<goal>/<n>`` — local, or a
remote-tracking ``refs/remotes/<remote>/ratchet/<goal>/<n>`` of a fresh clone — has a tip
whose ``Ratchet-Decision`` trailer is ``review`` or ``pending``, and nothing decided it
since: no later journal entry for its cycle, no human rejection under
``refs/ratchet/rejected/``, not merged into the target (by ratchet or a human's
``git merge``). So a deleted branch disappears and a new one appears without any local
state. Its id is ``<goal>/<n>``: short, and stable for the life of the branch.

:func:`record_rejection` is ``ratchet review reject``: the candidate's commit is amended
with its records updated (outcome ``rejected``, a ``human`` map with the reason,
``Ratchet-Human: rejected``), archived under ``refs/ratchet/rejected/<goal>/<n>``, its
evidence note carried to the new commit with the decision added, its branch deleted, and a
journal line appended.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import InputError
from engine.gate.paths import record_paths
from engine.model import Identity
from engine.vcs import Repository, format_message, parse_trailers
from engine.vcs.blobs import read_blobs
from engine.vcs.history import ref_messages

AWAITING = ("review", "pending")
HUMAN_TRAILER = "Ratchet-Human"
_BRANCH = re.compile(r"^refs/(?:heads|remotes/[^/]+)/ratchet/(?P<goal>[^/]+)/(?P<n>\d+)$")
_REJECTED = re.compile(r"^refs/ratchet/rejected/(?P<goal>[^/]+)/(?P<n>\d+)$")


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One candidate ratchet made, as found in git."""

    id: str  # "<goal>/<n>"
    goal: str
    ref: str  # the full ref it was found under
    commit: str
    cycle_id: str
    decision: str  # its Ratchet-Decision trailer
    committed: str  # committer date, ISO-8601
    snapshot: dict[str, Any] = field(default_factory=dict)

    @property
    def branch(self) -> str:
        return f"ratchet/{self.id}"

    @property
    def local(self) -> bool:
        return self.ref.startswith("refs/heads/")


def _candidates(
    repo: Repository, found: Iterable[tuple[str, str, re.Match[str]]]
) -> list[Candidate]:
    """``(ref, sha, name match)`` -> candidates, their commits and snapshots read in two git
    processes whatever their number."""
    found = list(found)
    infos = repo.commit_infos(sha for _, sha, _ in found)
    cycles = {sha: parse_trailers(infos.get(sha, ("", ""))[1]) for _, sha, _ in found}
    snapshots = _read_snapshots(
        repo, [(sha, t.get("Ratchet-Cycle", "")) for sha, t in cycles.items()]
    )
    return [
        Candidate(
            id=f"{match['goal']}/{match['n']}",
            goal=match["goal"],
            ref=ref,
            commit=sha,
            cycle_id=cycles[sha].get("Ratchet-Cycle", ""),
            decision=cycles[sha].get("Ratchet-Decision", ""),
            committed=infos.get(sha, ("", ""))[0],
            snapshot=snapshots.get((sha, cycles[sha].get("Ratchet-Cycle", "")), {}),
        )
        for ref, sha, match in found
    ]


def _read_snapshots(
    repo: Repository, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """``(commit, cycle id)`` -> the cycle's snapshot as committed in that commit, for every
    pair given whose snapshot is there and is a JSON object, in one git process."""
    specs = {(sha, cycle): f"{sha}:{record_paths(cycle)[0]}" for sha, cycle in pairs if cycle}
    texts = read_blobs(repo, specs.values())
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for pair, spec in specs.items():
        try:
            data = json.loads(texts.get(spec) or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data:
            out[pair] = data
    return out


def branch_candidates(repo: Repository) -> list[Candidate]:
    """Every ``ratchet/<goal>/<n>`` branch (a local one hides its remote-tracking twin)."""
    refs = repo.list_refs("refs/remotes/", "refs/heads/ratchet/")
    matched = [(ref, sha, m) for ref, sha in refs.items() if (m := _BRANCH.match(ref))]
    found: dict[str, Candidate] = {}
    for c in sorted(_candidates(repo, matched), key=lambda c: c.local):
        found[c.id] = c  # local refs sort last: they win
    return sorted(found.values(), key=lambda c: (c.goal, int(c.id.rsplit("/", 1)[1])))


def rejected_candidates(repo: Repository) -> list[Candidate]:
    """Every candidate archived under ``refs/ratchet/rejected/<goal>/<n>``."""
    refs = sorted(repo.list_refs("refs/ratchet/rejected/").items())
    return _candidates(repo, [(ref, sha, m) for ref, sha in refs if (m := _REJECTED.match(ref))])


def human_rejections_in_git(repo: Repository) -> list[dict[str, Any]]:
    """The snapshots of candidates a human rejected (``Ratchet-Human`` trailer)."""
    human: dict[str, tuple[str, str]] = {}  # ref -> (commit, cycle id)
    for ref, (sha, message) in ref_messages(repo, "refs/ratchet/rejected/").items():
        trailers = parse_trailers(message)
        if trailers.get(HUMAN_TRAILER):
            human[ref] = (sha, trailers.get("Ratchet-Cycle", ""))
    snapshots = _read_snapshots(repo, human.values())
    return [
        {**snapshots[pair], "rejected_ref": ref} for ref, pair in human.items() if pair in snapshots
    ]


def awaiting_review(
    repo: Repository, target: str, history: Iterable[Mapping[str, Any]]
) -> list[Candidate]:
    """The candidates still waiting for a human (see the module docstring)."""
    latest: dict[str, str] = {}
    for entry in history:
        latest[str(entry.get("cycle_id"))] = str(entry.get("outcome"))
    decided = {str(e.get("cycle_id")) for e in human_rejections_in_git(repo)}
    tip = repo.rev_parse(f"refs/heads/{target}")
    open_ = [
        c
        for c in branch_candidates(repo)
        if c.decision in AWAITING
        and c.cycle_id not in decided
        and latest.get(c.cycle_id, c.decision) in AWAITING
    ]
    if not tip:
        return open_
    # merged as another commit (rebased onto a moved target): the target's snapshot says so
    on_tip = _read_snapshots(repo, [(tip, c.cycle_id) for c in open_])
    return [
        c
        for c in open_
        if not repo.is_ancestor(c.commit, tip)
        and on_tip.get((tip, c.cycle_id), {}).get("outcome") != "merged"
    ]


def find(candidates: Iterable[Candidate], candidate_id: str, what: str) -> Candidate:
    """The candidate with id ``candidate_id``: ``<goal>/<n>``, with a ``ratchet/``,
    ``refs/heads/ratchet/`` or ``refs/ratchet/<kind>/`` prefix (as ``log`` shows where it
    is kept), or its cycle id (as ``log`` and a repeat's "nothing-to-do" name it);
    InputError listing the known ids otherwise."""
    wanted = re.sub(r"^refs/ratchet/[^/]+/", "", candidate_id)
    wanted = wanted.removeprefix("refs/heads/").removeprefix("ratchet/")
    pool = list(candidates)
    for c in pool:
        if c.id == wanted or (c.cycle_id and c.cycle_id == candidate_id):
            return c
    known = ", ".join(c.id for c in pool) or "none"
    raise InputError(f"no {what} candidate {candidate_id!r}; {what}: {known}")


def record_rejection(
    repo: Repository, candidate: Candidate, *, reason: str, identity: Identity, at: str
) -> dict[str, Any]:
    """Archive ``candidate`` as rejected by a human (see the module docstring); returns
    the journal entry it wrote."""
    from engine.patching.workspace import write_files
    from engine.records.layout import journal_file
    from engine.records.render import memory_path, render_snapshot, snapshot_path

    goal, n = candidate.id.rsplit("/", 1)
    ref = f"refs/ratchet/rejected/{goal}/{n}"
    from engine.redact import redact

    reason = redact(" ".join(reason.split()))  # records never hold a secret
    human = {"action": "rejected", "reason": reason, "at": at, "commit": candidate.commit}
    message = "rejected by a human" + (f": {reason}" if reason else "")
    entry = {
        **candidate.snapshot,
        "cycle_id": candidate.cycle_id or f"{goal}-{n}",
        "goal": goal,
        "outcome": "rejected",
        "message": message,
        "branch": candidate.branch,
        "rejected_ref": ref,
        "human": human,
        "finished": at,
    }
    original = repo.commit_message(candidate.commit)
    trailers = {
        **parse_trailers(original),
        "Ratchet-Decision": "rejected",
        HUMAN_TRAILER: "rejected",
    }
    if reason:
        trailers["Ratchet-Reason"] = reason[:200]
    subject = original.partition("\n")[0] or f"ratchet: candidate {candidate.id}"
    files = {}
    if candidate.cycle_id:
        memory = repo.show_file(candidate.commit, memory_path(candidate.cycle_id)) or ""
        files[snapshot_path(candidate.cycle_id)] = render_snapshot(entry)
        files[memory_path(candidate.cycle_id)] = (
            f"{memory.rstrip()}\n\n## Human decision\n\n- {at}: {message}\n"
        )
    import secrets  # here, not at the top: `ratchet status` imports this module

    wt = repo.add_worktree(
        f"reject-{goal}-{n}-{secrets.token_hex(3)}", commit=candidate.commit, branch=None
    )
    try:
        write_files(wt, files)
        text = format_message(subject, f"ratchet: {message}", trailers)
        if repo.is_bot_commit(candidate.commit, identity):
            sha = repo.amend_all(wt, message=text, author=identity)
        else:
            sha = repo.commit_all(wt, message=text, author=identity)
    finally:
        repo.remove_worktree(wt)
    repo.archive(ref, sha)
    entry["commit"] = sha
    # the full evidence follows the amended commit, with the human's decision on top
    # (imported here: `ratchet status` reads this module, never the notes)
    from engine.records.evidence import evidence_for, with_evidence, write_evidence

    full = with_evidence(entry, evidence_for(repo, candidate.commit))
    write_evidence(repo, sha, full, author=identity)
    entry = full
    if candidate.local and repo.rev_parse(candidate.ref) == candidate.commit:
        repo.delete_branch(candidate.branch)
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    with journal_file(repo.state_dir).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry
