"""The loopback fault server: a real HTTP server on 127.0.0.1 misbehaving on purpose.

Each row is one behaviour, served to the real providers (real sockets, real HTTP): the
provider must end in a valid plan (after a retry, a format downgrade or a lenient read)
or in a ProviderError whose message names the reason — never another exception, never
past its deadline. ``ratchet run-once`` against the same faults is in
test_provider_faults_e2e.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ProviderError, ProviderTransient
from engine.model import Directives, ProviderConfig
from engine.providers.breaker import CircuitBreaker
from engine.providers.formats import MEMORY_FILE
from engine.providers.gemini import make_gemini
from engine.providers.openai_compat import make_openai_compat
from engine.redact import MARK
from tests.fakes_http import (
    VENDOR_FORMATS,
    FakeModelServer,
    Recorded,
    Reply,
    Script,
    gemini_ok,
    openai_error,
    openai_ok,
    vendor,
)
from tests.test_provider_remote import make_request, plan

KEY = "plainkeyvalue0123456789"
SK_KEY = "sk-proj-ECHOTEST0123456789abcdefXYZ"
CODE = 'def area(w, h):\n    """Area of a rectangle."""\n    return w * h if w >= 0 else 0\n'
RAW_NEWLINES = (
    '```json\n{"summary": "Flatten area", "rationale": "one return", "edits": [{"file": '
    '"pkg/shapes.py", "op": "replace", "symbol": "area", "code": "'
    + CODE.replace('"', '\\"')
    + '"}]}\n```'
)
TRAILING_COMMA = plan()[:-2] + "],}"
FAST = {"backoff_base": 0.01, "backoff_max": 0.05, "retries": 2}


def echo_authorization(recorded: Recorded) -> Reply:
    """A server that puts the request's Authorization header into the plan it returns."""
    header = recorded.headers.get("authorization", "")
    code = f'def area(w, h):\n    """{header}"""\n    return w * h\n'
    answer = {
        "summary": f"Flatten area ({header})",
        "rationale": f"seen: {header}",
        "edits": [{"file": "pkg/shapes.py", "op": "replace", "symbol": "area", "code": code}],
    }
    return openai_ok(json.dumps(answer))


@dataclass(frozen=True)
class Fault:
    name: str
    script: Script
    error: str | None = None  # regex the ProviderError must match; None: a plan comes back
    transient: bool = False  # the error is a (retried) transient one
    options: dict[str, Any] = field(default_factory=dict)
    requests: int | None = None  # requests the server must have seen
    max_seconds: float = 8.0


GOOD = openai_ok(plan())
FAULTS = [
    Fault(
        "429 with retry-after",
        [openai_error(429, headers={"retry-after": "0.3"}), GOOD],
        None,
        requests=2,
    ),
    Fault("429 without retry-after", [openai_error(429, "slow down"), GOOD], requests=2),
    Fault("500 then success", [openai_error(500), GOOD], requests=2),
    Fault("502 then success", [openai_error(502, "bad gateway"), GOOD], requests=2),
    Fault("503 then success", [openai_error(503, "overloaded"), GOOD], requests=2),
    Fault(
        "503 every time",
        [openai_error(503, "overloaded")],
        "after 2 attempts.*HTTP 503",
        transient=True,
        requests=2,
    ),
    Fault("5xx naming response_format", [vendor("llama-cpp-python", plan())], requests=2),
    Fault("400 on json_schema", [openai_error(400, "json_schema unsupported"), GOOD], requests=2),
    Fault("422 on json_schema", [openai_error(422, "unprocessable"), GOOD], requests=2),
    Fault(
        "trickle: one byte every 0.4 s",
        [Reply(body=plan(), trickle=0.4)],
        "timed out",
        transient=True,
        options={"timeout": 1.0, "retries": 1},
        requests=1,
        max_seconds=3.0,
    ),
    Fault(
        "stall after the headers",
        [Reply(body=plan(), stall=30)],
        "timed out",
        transient=True,
        options={"timeout": 0.8, "retries": 1},
        max_seconds=3.0,
    ),
    Fault(
        "stall before the status line",
        [Reply(delay=30)],
        "timed out",
        transient=True,
        options={"timeout": 0.8, "retries": 1},
        max_seconds=3.0,
    ),
    Fault("connection reset", [Reply(reset=True)], "request failed", transient=True, requests=2),
    Fault("reset then success", [Reply(reset=True), GOOD], requests=2),
    Fault(
        "HTML page with 200",
        [Reply(body="<html><body>Login</body></html>", content_type="text/html")],
        r"text/html.*not JSON.*<html>",
        requests=1,
    ),
    Fault(
        "body claims JSON but is not",
        [Reply(body="this is not json")],
        r"application/json.*not JSON",
        requests=1,
    ),
    Fault("truncated JSON body", [Reply(body=json.dumps(GOOD.body)[:80])], "not JSON", requests=1),
    Fault(
        "connection closed mid-body",
        [Reply(body=GOOD.body, cut=60)],
        "request failed",
        transient=True,
        requests=2,
    ),
    Fault("huge body", [Reply(body=b"x" * (9 * 1024 * 1024))], "larger than", requests=1),
    Fault("empty body", [Reply(body=b"")], "not JSON", requests=1),
    Fault(
        "wrong content type, JSON body",
        [Reply(body=GOOD.body, content_type="text/plain")],
        requests=1,
    ),
    Fault("empty choices", [Reply(body={"choices": [], "usage": {}})], "no choices", requests=1),
    Fault(
        "choices is not a list", [Reply(body={"choices": "oops"})], "'choices' is str", requests=1
    ),
    Fault("null content", [openai_ok(None)], r"no text \(content is NoneType\)", requests=1),
    Fault("non-object JSON", [Reply(body=[1, 2, 3])], "JSON list, not an object", requests=1),
    Fault("fenced JSON with raw newlines", [openai_ok(RAW_NEWLINES)], requests=1),
    Fault("trailing comma (json-repair)", [openai_ok(TRAILING_COMMA)], requests=1),
    Fault("echo of the Authorization header", [echo_authorization], requests=1),
]


def provider_for(server: FakeModelServer, **options: Any) -> Any:
    config = ProviderConfig(
        name="openai_compat", options={"base_url": server.url + "/v1", **FAST, **options}
    )
    return make_openai_compat(config, Directives(), env={"OPENAI_API_KEY": KEY})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    from tests.test_provider_remote import shapes_project

    return shapes_project(tmp_path / "repo")


def test_check_knows_the_response_format_ladder():
    from engine.config.options import RESPONSE_FORMATS
    from engine.providers.formats import LEVELS

    assert RESPONSE_FORMATS == LEVELS


def test_the_fault_table_has_at_least_twenty_behaviours():
    assert len({f.name for f in FAULTS}) >= 20


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_fault(fault: Fault, repo: Path):
    with FakeModelServer.openai(fault.script) as server:
        provider = provider_for(server, **fault.options)
        started = time.monotonic()
        if fault.error is None:
            proposal = provider.propose(make_request(repo))
            assert proposal.edits and proposal.edits[0].symbol == "area"
            everything = json.dumps([proposal.summary, proposal.rationale, proposal.edits[0].code])
            assert KEY not in everything
        else:
            with pytest.raises(ProviderError, match=fault.error) as raised:
                provider.propose(make_request(repo))
            assert isinstance(raised.value, ProviderTransient) == fault.transient
            assert KEY not in str(raised.value)
        elapsed = time.monotonic() - started
        if fault.requests is not None:
            assert len(server.requests) == fault.requests
    assert elapsed < fault.max_seconds


def test_a_trickling_server_cannot_hold_a_call_past_its_timeout(repo: Path):
    # One byte every 2 s: every read succeeds, so only a total deadline can stop it.
    with FakeModelServer.openai([Reply(body=plan(), trickle=2.0)]) as server:
        provider = provider_for(server, timeout=3, retries=3)
        started = time.monotonic()
        with pytest.raises(ProviderTransient, match="timed out"):
            provider.propose(make_request(repo))
        elapsed = time.monotonic() - started
    assert len(server.requests) == 3
    assert elapsed < 3 * 3 + 1.5  # three calls of at most 3 s each, plus short backoffs


def test_echoed_keys_are_redacted_in_the_plan(repo: Path):
    for key in (KEY, SK_KEY):
        with FakeModelServer.openai([echo_authorization]) as server:
            config = ProviderConfig(
                name="openai_compat", options={"base_url": server.url + "/v1", "cache": False}
            )
            provider = make_openai_compat(config, Directives(), env={"OPENAI_API_KEY": key})
            proposal = provider.propose(make_request(repo))
        assert server.requests[0].headers["authorization"] == f"Bearer {key}"
        texts = [proposal.summary, proposal.rationale, proposal.edits[0].code or ""]
        assert all(key not in t and MARK in t for t in texts), texts


def test_a_format_refusal_is_not_a_breaker_failure_and_is_remembered(repo: Path):
    state = repo.parent / ".ratchet"
    with FakeModelServer.openai([vendor("llama-cpp-python", plan())]) as server:
        provider_for(server, cache=False, breaker_threshold=1).propose(make_request(repo))
        assert [r.body["response_format"]["type"] for r in server.requests] == [
            "json_schema",
            "json_object",
        ]
        memory = json.loads((state / MEMORY_FILE).read_text())
        assert list(memory.values()) == ["json_object_schema"]
        assert list(memory)[0].endswith("/v1 gpt-4o-mini")
        # A new process starts at the remembered level: one request, schema as a grammar.
        provider_for(server, cache=False, breaker_threshold=1).propose(make_request(repo))
        assert len(server.requests) == 3
        assert "schema" in server.requests[2].body["response_format"]
    breakers = list((state / "breaker").glob("*.json")) if (state / "breaker").exists() else []
    assert all(json.loads(p.read_text())["failures"] == 0 for p in breakers)
    assert CircuitBreaker  # the breaker module is the one that would have counted


@pytest.mark.parametrize("kind", sorted(VENDOR_FORMATS))
def test_each_server_people_run_gets_a_plan(kind: str, repo: Path):
    with FakeModelServer.openai([vendor(kind, plan())]) as server:
        proposal = provider_for(server, cache=False).propose(make_request(repo))
        used = [r.body.get("response_format", {}).get("type") for r in server.requests]
    assert proposal.edits
    # Every server here takes json_schema except llama-cpp-python (json_object + schema).
    expected = ["json_schema", "json_object"] if kind == "llama-cpp-python" else ["json_schema"]
    assert used == expected


def test_cached_prompt_tokens_and_speed_are_recorded(repo: Path):
    with FakeModelServer.openai([openai_ok(plan(), 900, 60, cached=640)]) as server:
        proposal = provider_for(server).propose(make_request(repo))
    assert (proposal.usage.tokens_in, proposal.usage.tokens_cached) == (900, 640)
    assert proposal.usage.tokens_per_s > 0
    [line] = [
        json.loads(raw)
        for path in (repo.parent / ".ratchet" / "spend").glob("*.jsonl")
        for raw in path.read_text().splitlines()
    ]
    assert line["tokens_cached"] == 640 and line["tokens_per_s"] > 0


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(body="<html>oops</html>", content_type="text/html"), "text/html.*not JSON"),
        (Reply(body={"candidates": []}), "no candidates"),
        (Reply(body={"candidates": [{"content": {"parts": []}}]}), "no text"),
        (Reply(body={"candidates": "x"}), "'candidates' is str"),
        (Reply(body=gemini_ok(plan()).body, trickle=0.3), "timed out"),
    ],
)
def test_gemini_faults(reply: Reply, error: str, repo: Path):
    with FakeModelServer.gemini([reply]) as server:
        config = ProviderConfig(
            name="gemini", options={"base_url": server.url, "timeout": 1.0, **FAST}
        )
        provider = make_gemini(config, Directives(), env={"GEMINI_API_KEY": KEY})
        with pytest.raises(ProviderError, match=error) as raised:
            provider.propose(make_request(repo))
    assert KEY not in str(raised.value)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"timeout": "abc"}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"retries": "abc"}, "retries"),
        ({"retries": 10**9}, "retries"),
        ({"temperature": "hot"}, "temperature"),
        ({"max_output_tokens": 1.5}, "max_output_tokens"),
        ({"cache": "no"}, "cache"),
        ({"breaker_cooldown": "soon"}, "breaker_cooldown"),
        ({"response_format": "xml"}, "response_format"),
    ],
)
def test_bad_options_are_config_errors_naming_the_field(options: dict[str, Any], field: str):
    from engine.errors import ConfigError

    config = ProviderConfig(name="openai_compat", options={"base_url": "http://127.0.0.1:9"})
    config = ProviderConfig(name="openai_compat", options={**config.options, **options})
    with pytest.raises(ConfigError, match=f"provider.options.{field}"):
        make_openai_compat(config, Directives(), env={})
