"""A local model server that refuses what ratchet sends by default — a prompt larger than
its context window, a model name it does not serve. The window: its refusal is read,
the window remembered, and the proposal asked again within it — against a loopback server
that behaves as llama-cpp-python's does with its default ``n_ctx`` of 2048 (a streamed
call: 200, then the stream closes empty; unstreamed: 400 ``context_length_exceeded``). The
model name: vLLM's 404, answered with the names the server lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ContextTooLong, MalformedAnswer, ProviderError
from engine.model import Directives, Goal, ProviderConfig
from engine.providers.base import ProposalRequest
from engine.providers.llm import LLMProvider
from engine.providers.openai_compat import make_openai_compat
from engine.providers.window import Window, WindowMemory, fit_window, learned, window_refusal
from tests.fakes_http import FakeModelServer, Recorded, Reply, openai_ok, openai_stream
from tests.test_provider_stream import GOOD

# What llama-cpp-python 0.3.36 answered here to a 3010-token prompt (n_ctx 2048)
LLAMA_CPP_PYTHON = (
    '{"error":{"message":"This model\'s maximum context length is 2048 tokens. However, you '
    "requested 3110 tokens (3010 in the messages, 100 in the completion). Please reduce the "
    'length of the messages or completion.","type":"invalid_request_error","param":"messages",'
    '"code":"context_length_exceeded"}}'
)


@pytest.mark.parametrize(
    ("text", "window", "prompt"),
    [
        (LLAMA_CPP_PYTHON, 2048, 3010),
        ("This model's maximum context length is 128000 tokens. However, your messages "
         "resulted in 130512 tokens. Please reduce the length of the messages.", 128000, 130512),
        ("This model's maximum context length is 4096 tokens. However, you requested 5000 "
         "tokens (4000 in the messages, 1000 in the completion).", 4096, 4000),  # vLLM
        ('{"error":{"code":400,"message":"the request exceeds the available context size, try '
         'increasing it","type":"exceed_context_size_error","n_prompt_tokens":7013,'
         '"n_ctx":4096}}', 4096, 7013),  # llama.cpp llama-server
        ("Requested tokens (7013) exceed context window of 2048", 2048, 7013),  # in-process
        ("Trying to keep the first 5120 tokens when context the overflows. However, the model "
         "is loaded with context length of only 4096 tokens", 4096, 5120),  # LM Studio
        ("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: "
         "9000 `inputs` tokens and 1024 `max_new_tokens`", 8192, 9000),  # TGI
        ('{"error": "prompt is too long for the context length"}', None, None),
    ],
)  # fmt: skip
def test_a_refusal_names_the_window_in_every_server_s_words(
    text: str, window: int | None, prompt: int | None
) -> None:
    refusal = window_refusal(text, prefix="x: ")
    assert refusal is not None
    assert (refusal.window, refusal.prompt_tokens) == (window, prompt)
    assert str(refusal).startswith("x: ")


@pytest.mark.parametrize(
    "text",
    [
        '{"error":{"message":"max_tokens is too large: 9000","type":"invalid_request_error"}}',
        "response_format json_schema is not supported",
        "The model `gpt-9` does not exist",
        "",
    ],
)
def test_other_errors_are_not_a_window_refusal(text: str) -> None:
    assert window_refusal(text) is None


def test_the_window_learned_and_the_call_that_fits_it(tmp_path: Path) -> None:
    refusal = window_refusal(LLAMA_CPP_PYTHON)
    assert refusal is not None
    window = learned(refusal, estimate=2500, before=None)
    assert window == Window(tokens=2048, ratio=1.204)  # 3010 of its tokens for 2500 of ours
    budget, answer = fit_window(window, configured=6000, max_output_tokens=2048,
                                overhead_tokens=800)  # fmt: skip
    assert answer == 460  # a quarter of 90% of the window
    assert budget == int((int(2048 * 0.9) - 460) / 1.204) - 800
    assert 1.204 * (800 + budget) + answer <= 2048
    # a window the refusal does not name: half of what was asked, halved again next time
    vague = ContextTooLong("context length exceeded")
    first = learned(vague, estimate=6000, before=None)
    assert first.tokens == int(6000 * 1.3) // 2
    assert learned(vague, estimate=4000, before=first).tokens == first.tokens // 2
    # too small for any useful prompt: said before any call, with the fix
    with pytest.raises(ContextTooLong, match=r"context window is 1024 tokens.*--n_ctx 8192"):
        fit_window(Window(tokens=1024, ratio=1.2), configured=6000, max_output_tokens=2048,
                   overhead_tokens=800)  # fmt: skip


def test_a_remembered_window_is_relearned_after_a_day(tmp_path: Path) -> None:
    now = [1_000_000.0]
    memory = WindowMemory(tmp_path, clock=lambda: now[0])
    memory.put("k", Window(tokens=2048, ratio=1.25))
    assert memory.get("k") == Window(tokens=2048, ratio=1.25)
    now[0] += 24 * 3600 + 1
    assert memory.get("k") is None
    (tmp_path / "endpoint-windows.json").write_text("{not json")
    assert WindowMemory(tmp_path).get("k") is None


WINDOW = 2048


def tokens_of(body: dict[str, Any]) -> int:
    """The fake's tokenizer: 3.2 characters a token (a small model's, on code)."""
    return int(sum(len(m["content"]) for m in body["messages"]) / 3.2)


def llama_cpp_python(seen: Recorded) -> Reply:
    """llama-cpp-python's server at its default n_ctx: a prompt that does not fit is
    refused with 400 unstreamed, and streamed with a 200 whose stream closes empty."""
    body = seen.body
    prompt = tokens_of(body)
    if prompt + int(body["max_tokens"]) > WINDOW:
        if body["stream"]:
            return Reply(200, body=b"", content_type="text/event-stream; charset=utf-8")
        message = (
            f"This model's maximum context length is {WINDOW} tokens. However, you requested "
            f"{prompt + body['max_tokens']} tokens ({prompt} in the messages, "
            f"{body['max_tokens']} in the completion). Please reduce the length of the "
            "messages or completion."
        )
        error = {"message": message, "type": "invalid_request_error", "param": "messages",
                 "code": "context_length_exceeded"}  # fmt: skip
        return Reply(400, {"error": error})
    return openai_stream(json.dumps(GOOD), pieces=3)


def big_repo(root: Path) -> Path:
    """A module with ``area`` and enough other code to fill a 6000-token context."""
    helpers = "\n\n".join(
        f"def helper_{n}(value):\n    '''Helper {n}.'''\n"
        + "".join(f"    value = value * {k} + {n}  # step {k}\n" for k in range(10))
        + "    return value\n"
        for n in range(80)
    )
    area = "def area(w, h):\n    if w < 0:\n        return 0\n    else:\n        return w * h\n"
    (root / "shapes.py").write_text(area + "\n\n" + helpers)
    return root


def provider(url: str) -> LLMProvider:
    # the defaults a user meets: context_tokens 6000, max_output_tokens 2048
    config = ProviderConfig(
        name="openai_compat", model="m", options={"base_url": url + "/v1", "cache": False}
    )
    made = make_openai_compat(config, Directives(), env={})
    assert isinstance(made, LLMProvider)
    return made


def request(root: Path) -> ProposalRequest:
    return ProposalRequest(
        goal=Goal(id="flatten", description="Flatten area in shapes.py"),
        root=root,
        files=("shapes.py",),
        directives=Directives(),
        state_dir=root / ".ratchet",
    )


def test_a_small_window_is_learned_from_the_refusal_and_the_plan_asked_within_it(
    tmp_path: Path,
) -> None:
    root = big_repo(tmp_path)
    with FakeModelServer.openai([llama_cpp_python]) as server:
        p = provider(server.url)
        plan = p.propose(request(root))
        asked = [
            (r.body["stream"], tokens_of(r.body), r.body["max_tokens"]) for r in server.requests
        ]
        p2 = provider(server.url)  # a new process: the window is remembered
        p2.propose(request(root))
        again = [(r.body["stream"], r.body["max_tokens"]) for r in server.requests[3:]]
    assert plan.edits[0].symbol == "area"
    # streamed and closed empty; unstreamed to hear why (400); then within the window
    assert [a[0] for a in asked] == [True, False, True]
    assert asked[0][1] + asked[0][2] > WINDOW and asked[0][2] == 2048
    assert asked[2][1] + asked[2][2] <= WINDOW, asked
    assert again == [(True, asked[2][2])]  # one call, fitted from the start
    memory = json.loads((root / ".ratchet" / "endpoint-windows.json").read_text())
    assert [w["tokens"] for w in memory.values()] == [WINDOW]


def test_a_window_too_small_for_any_plan_is_a_clear_error_after_one_refusal(
    tmp_path: Path,
) -> None:
    root = big_repo(tmp_path)

    def tiny(seen: Recorded) -> Reply:
        said = ("This model's maximum context length is 512 tokens. However, you requested "
                "9000 tokens (7000 in the messages, 2000 in the completion).")  # fmt: skip
        return Reply(400, {"error": {"message": said}})

    with FakeModelServer.openai([tiny]) as server:
        with pytest.raises(ContextTooLong) as caught:
            provider(server.url).propose(request(root))
        calls = len(server.requests)
    assert calls == 1  # no response format is tried for a refusal no format can help
    assert "context window is 512 tokens" in str(caught.value)
    assert "--n_ctx 8192" in str(caught.value)


def test_a_repair_round_that_overflows_is_a_malformed_answer(tmp_path: Path) -> None:
    root = big_repo(tmp_path)
    bad = {"summary": "x", "edits": [{"file": "shapes.py", "op": "replace", "symbol": "nope",
                                      "code": "def nope():\n    pass\n"}]}  # fmt: skip

    def answer_then_refuse_the_repair(seen: Recorded) -> Reply:
        if "Your previous answer could not be used" in seen.body["messages"][-1]["content"]:
            return Reply(400, json.loads(LLAMA_CPP_PYTHON))
        return openai_stream(json.dumps(bad), pieces=2)

    with FakeModelServer.openai([answer_then_refuse_the_repair]) as server:
        with pytest.raises(MalformedAnswer, match="repair round did not fit") as caught:
            provider(server.url).propose(request(root))
        calls = len(server.requests)
    assert calls == 2 and "'nope'" in str(caught.value)


def test_an_unknown_model_name_is_an_error_that_names_the_served_ones(tmp_path: Path) -> None:
    """vLLM and Ollama answer 404 for a model they do not serve (ratchet's default is
    gpt-4o-mini): the error lists what the server serves, the fix in one line."""
    root = big_repo(tmp_path)
    said = {"error": {"message": "The model `m` does not exist.", "code": 404}}
    with FakeModelServer.openai([Reply(404, said)]) as server:
        server.models = ["Qwen/Qwen2.5-Coder-1.5B-Instruct"]
        with pytest.raises(ProviderError) as caught:
            provider(server.url).propose(request(root))
        server.models = None  # a server without the listing: the plain 404 and its hint
        with pytest.raises(ProviderError) as plain:
            provider(server.url).propose(request(root))
    assert "The model `m` does not exist." in str(caught.value)
    assert "serves Qwen/Qwen2.5-Coder-1.5B-Instruct, not 'm'" in str(caught.value)
    assert "to 'Qwen/Qwen2.5-Coder-1.5B-Instruct'" in str(caught.value)
    assert "check provider.model and OPENAI_BASE_URL" in str(plain.value)


def ollama(seen: Recorded) -> Reply:
    """Ollama at num_ctx 2048: a longer prompt is cut to fit without an error, and the
    model, missing the instructions, answers nonsense; usage says how much it read."""
    prompt = tokens_of(seen.body)
    if prompt > WINDOW:
        return openai_ok("I am not sure what you mean.", tokens_in=WINDOW, tokens_out=8)
    return openai_ok(json.dumps(GOOD), tokens_in=prompt, tokens_out=60)


def test_a_server_that_cuts_the_prompt_silently_is_asked_again_within_what_it_read(
    tmp_path: Path,
) -> None:
    root = big_repo(tmp_path)
    with FakeModelServer.openai([ollama]) as server:
        config = ProviderConfig(
            name="openai_compat",
            model="qwen2.5-coder:1.5b",
            options={"base_url": server.url + "/v1", "cache": False, "stream": False},
        )
        p = make_openai_compat(config, Directives(), env={})
        assert isinstance(p, LLMProvider)
        plan = p.propose(request(root))
        sizes = [tokens_of(r.body) for r in server.requests]
    assert plan.edits[0].symbol == "area"
    assert len(sizes) == 2 and sizes[0] > WINDOW >= sizes[1], sizes
    memory = json.loads((root / ".ratchet" / "endpoint-windows.json").read_text())
    assert [w["tokens"] for w in memory.values()] == [WINDOW]


def test_the_repair_round_quotes_only_what_fits_the_window(tmp_path: Path) -> None:
    """A 2048 window and a long bad answer: the repair round quotes as much of it as fits
    beside the prompt and the answer to come, instead of overflowing (the local provider
    on toolz 1.2 ended every bad answer unrepaired)."""
    root = big_repo(tmp_path)
    junk = "I would like to simplify area. " * 200  # ~6000 characters, no plan

    def bad_then_good(seen: Recorded) -> Reply:
        refused = llama_cpp_python(seen)
        if refused.status != 200 or not refused.events:
            return refused  # too long for the window, as the real server says
        if "Your previous answer could not be used" in seen.body["messages"][-1]["content"]:
            return openai_stream(json.dumps(GOOD), pieces=3)
        return openai_stream(junk, pieces=3)

    with FakeModelServer.openai([bad_then_good]) as server:
        plan = provider(server.url).propose(request(root))
        fits = [tokens_of(r.body) + r.body["max_tokens"] <= WINDOW for r in server.requests]
    assert plan.edits[0].symbol == "area"
    assert fits[-2:] == [True, True], fits  # the first answer and its repair, both within
