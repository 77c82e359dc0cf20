"""Speed on slow local models: streaming, per-call records, a stable prompt prefix and a
budget that fits the endpoint — against loopback servers speaking the streamed wire format."""

from __future__ import annotations

import json
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ProviderError, ProviderTransient
from engine.model import Directives, Goal, ProviderConfig, Timeouts
from engine.providers.base import ProposalRequest
from engine.providers.llm import LLMProvider, LLMSettings
from engine.providers.openai_compat import make_openai_compat
from engine.providers.speed import EndpointSpeed, SpeedMemory, fitting_budget
from engine.providers.sse import CallProgress
from engine.providers.transport import CallableTransport, LLMReply, LLMRequest
from tests.fakes_http import FakeModelServer, Reply, openai_ok, openai_stream

SOURCE = "def area(w, h):\n    if w < 0:\n        return 0\n    else:\n        return w * h\n"
GOOD = {
    "summary": "Flatten area",
    "rationale": "one return",
    "edits": [
        {
            "file": "shapes.py",
            "op": "replace",
            "symbol": "area",
            "code": "def area(w, h):\n    return w * h if w >= 0 else 0\n",
        }
    ],
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "shapes.py").write_text(SOURCE)
    return tmp_path


def request(repo: Path, **kw: Any) -> ProposalRequest:
    timeouts = kw.pop("timeouts", Timeouts())
    return ProposalRequest(
        goal=Goal(id="flatten", description="Flatten area in shapes.py", max_attempts=3),
        root=repo,
        files=("shapes.py",),
        directives=Directives(timeouts=timeouts),
        state_dir=repo / ".ratchet",
        **kw,
    )


def provider(url: str, **options: Any) -> LLMProvider:
    config = ProviderConfig(
        name="openai_compat",
        model="m",
        options={"base_url": url + "/v1", "retries": 1, "cache": False, **options},
    )
    made = make_openai_compat(config, Directives(), env={})
    assert isinstance(made, LLMProvider)
    return made


def test_streamed_answer_reports_progress_and_llama_cpp_timings(repo: Path) -> None:
    timings = {"prompt_n": 300, "prompt_ms": 1500.0, "predicted_n": 40, "predicted_ms": 800.0,
               "cache_n": 250}  # fmt: skip
    reply = openai_stream(json.dumps(GOOD), pieces=6, timings=timings, stall=0.2, gap=0.25)
    events: list[CallProgress] = []
    with FakeModelServer.openai([reply]) as server:
        p = provider(server.url)
        p.on_progress = events.append
        plan = p.propose(request(repo))
    sent = server.requests[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert plan.edits[0].symbol == "area"
    assert [e.phase for e in events][-1] == "answered" and "answering" in [e.phase for e in events]
    first = events[0].first_token_seconds
    assert first is not None and first >= 0.15  # the stall before the first token
    assert len(events) < 7  # throttled: unthrottled is one per piece (6) + "answered"
    answering = [e.seconds for e in events if e.phase == "answering"]
    assert all(b - a >= 0.99 for a, b in pairwise(answering)), answering
    (call,) = plan.usage.per_call
    assert (call.kind, call.tokens_in, call.tokens_cached, call.tokens_out) == (
        "propose",
        300,
        250,
        40,
    )
    assert call.prompt_seconds == 1.5 and call.prompt_tokens_per_s == round(50 / 1.5, 2)
    assert call.tokens_per_s == 50.0  # 40 tokens in 0.8 s, from the server's own timings


def test_openai_stream_usage_with_cached_tokens_is_recorded(repo: Path) -> None:
    usage = {"prompt_tokens": 900, "completion_tokens": 33,
             "prompt_tokens_details": {"cached_tokens": 768}}  # fmt: skip
    with FakeModelServer.openai([openai_stream(json.dumps(GOOD), usage=usage)]) as server:
        plan = provider(server.url).propose(request(repo))
    assert (plan.usage.tokens_in, plan.usage.tokens_cached, plan.usage.tokens_out) == (900, 768, 33)
    speeds = json.loads((repo / ".ratchet" / "endpoint-speeds.json").read_text())
    assert list(speeds) == [f"openai_compat {server.url}/v1 m"]


def test_a_trickling_stream_still_ends_at_the_total_deadline(repo: Path) -> None:
    slow = openai_stream(json.dumps(GOOD), pieces=40, gap=0.2)  # 8 s of answer
    with FakeModelServer.openai([slow]) as server:
        started = time.monotonic()
        with pytest.raises(ProviderTransient, match="timed out"):
            provider(server.url, timeout=1, retries=1).propose(request(repo))
    assert time.monotonic() - started < 3


def test_an_error_event_mid_stream_is_a_provider_error(repo: Path) -> None:
    broken = Reply(200, events=(b'data: {"error": {"message": "out of memory"}}\n\n',))
    with FakeModelServer.openai([broken]) as server, pytest.raises(ProviderError, match="memory"):
        provider(server.url).propose(request(repo))


def test_stream_false_and_a_server_that_ignores_stream(repo: Path) -> None:
    with FakeModelServer.openai([openai_ok(json.dumps(GOOD))]) as server:
        provider(server.url, stream=False).propose(request(repo))
        provider(server.url).propose(request(repo))  # asked to stream, answered one body
    assert [r.body["stream"] for r in server.requests] == [False, True]


# --------------------------------------------------------------------------- prompt prefix


def recording() -> tuple[LLMProvider, list[LLMRequest]]:
    seen: list[LLMRequest] = []
    answers = iter(["not json at all", json.dumps(GOOD)] + [json.dumps(GOOD)] * 10)

    def handler(call: LLMRequest) -> LLMReply:
        seen.append(call)
        return LLMReply(text=next(answers), tokens_in=100, tokens_out=10)

    return LLMProvider(CallableTransport(handler), LLMSettings(cache=False)), seen


def stable_part(prompt: str) -> str:
    """The prompt up to its volatile tail (the sections that may change, the attempt)."""
    cut = [prompt.find(m) for m in ("## Lessons", "## Why", "# Your answer") if m in prompt]
    return prompt[: min(cut)].rstrip("\n") + "\n"


def test_the_prompt_prefix_is_byte_identical_across_attempts_and_cycles(repo: Path) -> None:
    p, seen = recording()
    p.propose(request(repo))  # attempt 1: a broken answer, then one repair round
    p.propose(request(repo, attempt=2, feedback="FAILED test_area - assert 0 == 6 " * 40,
                      history=("attempt 1: tests failed",)))  # fmt: skip
    p.propose(request(repo, lessons=("keep area pure",) * 5, history=("r1", "r2", "r3")))
    first, repair, second, next_cycle = seen
    assert len({c.system for c in seen}) == 1
    prefix = stable_part(first.prompt)
    assert len(prefix) > 200 and "def area" in prefix
    assert repair.prompt.startswith(first.prompt)  # the repair is the same prompt + the error
    for later in (second, next_cycle):
        assert stable_part(later.prompt) == prefix
        assert later.prompt.startswith(prefix) and later.prompt != first.prompt
    assert "attempt 2 of 3" in second.prompt.split(prefix, 1)[1]


# --------------------------------------------------------------------------- speed and budget


def test_speed_memory_and_the_budget_that_fits_the_timeout(tmp_path: Path) -> None:
    memory = SpeedMemory(tmp_path)
    key = "openai_compat http://x m"
    assert memory.get(key) is None
    assert memory.observe(key, LLMReply(text="x", tokens_in=100)) is None  # not split: no lesson
    slow = LLMReply(text="x", tokens_in=3200, tokens_cached=0, tokens_out=200,
                    prompt_seconds=200.0, answer_seconds=100.0)  # fmt: skip
    memory.observe(key, slow)
    speed = SpeedMemory(tmp_path).get(key)  # read back from the file
    assert speed == EndpointSpeed(
        prompt_tokens_per_s=16.0, answer_tokens_per_s=2.0, answer_tokens=200.0, samples=1
    )
    # 300 s: 0.8 * 300 = 240 s; an answer of max(200, 512/4) tokens at 2/s = 100 s;
    # 140 s of prompt at 16/s = 2240 tokens, minus 300 of overhead.
    fit = fitting_budget(
        speed, timeout=300, configured=6000, max_output_tokens=512, overhead_tokens=300
    )
    assert fit == 1940
    assert fitting_budget(None, timeout=300, configured=6000, max_output_tokens=512,
                          overhead_tokens=300) == 6000  # fmt: skip
    assert (
        fitting_budget(
            speed, timeout=30, configured=6000, max_output_tokens=512, overhead_tokens=300
        )
        == 300
    )  # fmt: skip  (the floor)
    cached = LLMReply(text="x", tokens_in=3200, tokens_cached=3000, tokens_out=10,
                      prompt_seconds=1.0, answer_seconds=1.0)  # fmt: skip
    assert memory.observe(key, cached).prompt_tokens_per_s == 108.0  # 200 fresh tokens in 1 s


def test_a_slow_endpoint_gets_a_smaller_prompt_next_time(repo: Path) -> None:
    (repo / "shapes.py").write_text(SOURCE + "".join(
        f"\n\ndef helper_{n}(value):\n" + "".join(f"    value += {k}\n" for k in range(30))
        + "    return value\n" for n in range(40)))  # fmt: skip
    usage = {"prompt_tokens": 2000, "completion_tokens": 50}
    # The server's own timings (not the fake's wall clock): 20 prompt and 2 answer tokens/s.
    timings = {
        "prompt_n": 2000,
        "prompt_ms": 100_000.0,
        "predicted_n": 50,
        "predicted_ms": 25_000.0,
    }
    reply = openai_stream(json.dumps(GOOD), usage=usage, timings=timings)
    with FakeModelServer.openai([reply]) as server:
        p = provider(server.url)
        slow = request(repo, timeouts=Timeouts(provider=120))
        p.propose(slow)
        before = p.last_context
        p.propose(slow)
        after = p.last_context
    assert before is not None and after is not None
    assert before.budget == Directives().context_tokens
    # 0.8 * 120 = 96 s; the answer max(50, 2048/4) = 512 tokens at 2/s = 256 s > 96 s:
    # nothing is left for the prompt, so the floor.
    assert after.budget == 300 and after.tokens < before.tokens
    fast = request(repo, timeouts=Timeouts(provider=500))  # 144 s of prompt at 20/s
    with FakeModelServer.openai([reply]) as server:
        p2 = provider(server.url)
        p2.propose(fast)
        p2.propose(fast)
    assert p2.last_context is not None and 300 < p2.last_context.budget < before.budget


def test_a_server_that_refuses_the_streaming_fields_is_asked_unstreamed(repo: Path) -> None:
    """A strict server (older vLLM, some proxies) answers 400 to ``stream_options``: the
    call is made again unstreamed, and later calls of the process are not streamed."""

    def strict(seen: Any) -> Reply:
        if seen.body.get("stream") or "stream_options" in seen.body:
            said = "1 validation error: stream_options: extra fields not permitted"
            return Reply(400, {"error": {"message": said, "type": "invalid_request_error"}})
        return openai_ok(json.dumps(GOOD))

    with FakeModelServer.openai([strict]) as server:
        p = provider(server.url)
        plan = p.propose(request(repo))
        p.propose(request(repo, attempt=2, feedback="again"))
        streamed = [r.body.get("stream") for r in server.requests]
        formats = [r.body.get("response_format", {}).get("type") for r in server.requests]
    assert plan.edits[0].symbol == "area"
    assert streamed == [True, False, False]  # no response format was given up for it
    assert formats[0] == formats[1] == "json_schema"
