"""``ratchet run-once`` with each remote provider configured, against a real local HTTP
server speaking the provider's wire format: the cycle records a gated candidate, its
spend, and never the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes_http import FakeModelServer, gemini_ok, openai_ok
from tests.repo_helpers import FLAT_CLASSIFY, git, make_repo, ratchet

pytestmark = pytest.mark.slow

SECRET = "sk-test-SECRET-4242-never-logged"
PLAN = {
    "summary": "Flatten classify",
    "rationale": "Fewer branches, same behaviour.",
    "edits": [
        {"file": "calc/ops.py", "op": "replace", "symbol": "classify", "code": FLAT_CLASSIFY}
    ],
}


@pytest.mark.parametrize(
    ("name", "server", "reply", "env_key", "suffix"),
    [
        ("gemini", FakeModelServer.gemini, gemini_ok, "GEMINI_API_KEY", ""),
        ("openai_compat", FakeModelServer.openai, openai_ok, "OPENAI_API_KEY", "/v1"),
    ],
)
def test_run_once_with_a_remote_provider_records_a_gated_candidate(
    tmp_path: Path,
    name: str,
    server,
    reply,
    env_key: str,
    suffix: str,  # type: ignore[no-untyped-def]
) -> None:
    with server([reply(json.dumps(PLAN), tokens_in=900, tokens_out=80)]) as fake:
        goals = [
            {
                "id": "simplify",
                "description": "Flatten nested branches in classify.",
                "scope": ["calc/**/*.py"],
                "max_attempts": 1,
            }
        ]
        repo = make_repo(
            tmp_path / "repo",
            goals=goals,
            directives={
                "target_branch": "main",
                "provider": {
                    "name": name,
                    "model": "test-model",
                    "options": {"base_url": fake.url + suffix, "retries": 1},
                },
            },
        )
        run = ratchet("run-once", "--repo", str(repo), "--json", env={env_key: SECRET})
    assert run.code == 0, run.stderr
    result = run.json
    assert result["outcome"] == "merged", result["message"]
    assert result["provider"] == name
    assert result["usage"]["tokens_in"] == 900 and result["usage"]["tokens_out"] == 80
    assert len(fake.requests) == 1
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert f"Ratchet-Provider: {name}/test-model" in message
    assert "Ratchet-Tokens: 900+80" in message
    log = ratchet("log", "--repo", str(repo))
    assert "tokens: 900+80" in log.stdout
    everything = run.stdout + run.stderr + log.stdout + git(repo, "log", "-p", "--all")
    for path in (repo / ".ratchet").rglob("*"):
        if path.is_file():
            everything += path.read_bytes().decode(errors="replace")
    assert SECRET not in everything
