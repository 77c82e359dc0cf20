"""``ratchet run-once`` (a real child process, a real git repository) against the loopback
fault server: a misbehaving endpoint ends the cycle as outcome ``error`` with the reason,
journaled, exit 0, no traceback; a server that refuses a response format is downgraded
and the cycle merges; a server that echoes the key never gets it into any record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from engine.cli.exits import EXIT_CYCLE_FAILED
from tests.fakes_http import FakeModelServer, Recorded, Reply, openai_ok, vendor
from tests.repo_helpers import FLAT_CLASSIFY, git, make_repo, ratchet

pytestmark = pytest.mark.slow

PLAN = {
    "summary": "Flatten classify",
    "rationale": "Fewer branches, same behaviour.",
    "edits": [
        {"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}
    ],
}
GOALS = [
    {
        "id": "simplify",
        "description": "Flatten nested branches in classify.",
        "scope": ["calc/**/*.py"],
        "max_attempts": 1,
    }
]


def repo_for(root: Path, url: str, **options: Any) -> Path:
    provider = {
        "name": "openai_compat",
        "model": "test-model",
        "options": {"base_url": url + "/v1", "retries": 1, **options},
    }
    return make_repo(root, goals=GOALS, directives={"target_branch": "main", "provider": provider})


def journal(repo: Path) -> list[dict[str, Any]]:
    path = repo / ".ratchet" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("reply", "reason", "timeout"),
    [
        (
            Reply(body="<html><body>Sign in</body></html>", content_type="text/html"),
            "not JSON",
            30,
        ),
        (Reply(body='{"choices": [', content_type="application/json"), "not JSON", 30),
        (Reply(body=PLAN, trickle=1.0), "timed out", 3),
    ],
    ids=["html-200", "claims-json", "trickle"],
)
def test_a_bad_endpoint_ends_in_a_journaled_error(
    tmp_path: Path, reply: Reply, reason: str, timeout: float
):
    with FakeModelServer.openai([reply]) as fake:
        repo = repo_for(tmp_path / "repo", fake.url, timeout=timeout)
        started = time.monotonic()
        run = ratchet("run-once", "--repo", str(repo), "--json", env={"OPENAI_API_KEY": "x"})
        elapsed = time.monotonic() - started
    assert run.code == EXIT_CYCLE_FAILED, run.stderr  # an `error` outcome: cron/CI notice
    assert "Traceback" not in run.stderr
    result = run.json
    assert result["outcome"] == "error" and reason in result["message"], result["message"]
    [entry] = journal(repo)
    assert entry["outcome"] == "error" and reason in entry["message"]
    assert elapsed < 60


def test_a_server_refusing_json_schema_with_500_is_downgraded_and_merges(tmp_path: Path):
    with FakeModelServer.openai([vendor("llama-cpp-python", json.dumps(PLAN))]) as fake:
        repo = repo_for(tmp_path / "repo", fake.url, breaker_threshold=1)
        run = ratchet("run-once", "--repo", str(repo), "--json")
    assert run.code == 0, run.stderr
    assert run.json["outcome"] == "merged", run.json["message"]
    assert [r.body["response_format"]["type"] for r in fake.requests] == [
        "json_schema",
        "json_object",
    ]
    memory = json.loads((repo / ".ratchet" / "response-formats.json").read_text())
    assert list(memory.values()) == ["json_object_schema"]


def echo_authorization(recorded: Recorded) -> Reply:
    header = recorded.headers.get("authorization", "")
    code = FLAT_CLASSIFY.replace("def classify(n):\n", f'def classify(n):\n    """{header}"""\n')
    plan = {
        "summary": f"Flatten classify for {header}",
        "rationale": f"The request carried {header}.",
        "edits": [{"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": code}],
    }
    return openai_ok(json.dumps(plan))


@pytest.mark.parametrize(
    "key", ["plainSecretValue0123456789", "sk-proj-ECHO0123456789abcdefABCDEF"], ids=["plain", "sk"]
)
def test_an_echoed_key_reaches_no_record(tmp_path: Path, key: str):
    with FakeModelServer.openai([echo_authorization]) as fake:
        repo = repo_for(tmp_path / "repo", fake.url)
        run = ratchet("run-once", "--repo", str(repo), "--json", env={"OPENAI_API_KEY": key})
    assert fake.requests[0].headers["authorization"] == f"Bearer {key}"
    assert run.code == 0, run.stderr
    assert run.json["outcome"] == "merged", run.json["message"]
    log = ratchet("log", "--repo", str(repo), "--json")
    places = {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "log": log.stdout,
        "commits": git(repo, "log", "-p", "--all", "--format=%B"),
    }
    for path in (repo / ".ratchet").rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes().decode(errors="replace")
    leaks = [where for where, text in places.items() if key in text]
    assert leaks == []
    subject = git(repo, "log", "-1", "--format=%s", "main")
    assert subject == "Flatten classify for Bearer [REDACTED]"
    files = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    [snapshot, memory] = [
        git(repo, "show", f"main:{name}")
        for prefix in ("snapshots/", "memory-bank/cycles/")
        for name in files
        if name.startswith(prefix)
    ]
    assert "[REDACTED]" in snapshot and "[REDACTED]" in memory
    assert key not in snapshot + memory
