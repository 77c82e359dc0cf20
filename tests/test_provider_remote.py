"""Remote model providers against real HTTP servers on 127.0.0.1 speaking their wire format.

One behavioural suite runs against both backends (gemini via google-genai, openai_compat
via the openai client): success, 429-then-success, 500s until the breaker opens, timeout,
malformed JSON repaired, code that does not parse, over budget, cache hit on a re-run,
4xx config errors, secrets redacted, fallback. Waits are kept short through options.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.errors import BudgetExceeded, MalformedAnswer, ProviderError, ProviderTransient
from engine.model import Budgets, Directives, Goal, ProviderConfig
from engine.providers.base import ProposalRequest, Provider
from engine.providers.breaker import CircuitOpen
from engine.providers.budget import SpendLedger, utc_day
from engine.providers.formats import LEVELS
from engine.providers.gemini import make_gemini
from engine.providers.openai_compat import make_openai_compat
from engine.providers.registry import make_model_provider
from tests.fakes_http import (
    FakeModelServer,
    Reply,
    gemini_error,
    gemini_ok,
    openai_error,
    openai_ok,
)

KEY = "AIzaFAKEKEYforTESTS0123456789abcdef"

SHAPES = '''"""Shapes."""


def area(w, h):
    """Area of a rectangle."""
    if w < 0:
        return 0
    else:
        return w * h


class Circle:
    def __init__(self, r):
        self.r = r

    def area(self):
        return 3.14159 * self.r * self.r
'''

TEST_SHAPES = """from pkg.shapes import area


def test_area():
    assert area(2, 3) == 6
"""

GOOD_CODE = 'def area(w, h):\n    """Area of a rectangle."""\n    return w * h if w >= 0 else 0\n'


def plan(code: str = GOOD_CODE, file: str = "pkg/shapes.py", symbol: str = "area") -> str:
    edit = {"file": file, "op": "replace", "symbol": symbol, "code": code}
    return json.dumps({"summary": "Flatten area", "rationale": "one return", "edits": [edit]})


@dataclass(frozen=True)
class Backend:
    name: str
    server: Callable[[list[Reply]], FakeModelServer]
    ok: Callable[..., Reply]
    error: Callable[..., Reply]
    factory: Callable[..., Provider]
    url_suffix: str
    key_env: str

    def make(
        self, server: FakeModelServer, directives: Directives | None = None, **options: Any
    ) -> Provider:
        opts = {
            "base_url": server.url + self.url_suffix,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            **options,
        }
        config = ProviderConfig(name=self.name, options=opts)
        return self.factory(config, directives or Directives(), env={self.key_env: KEY})

    def prompt_of(self, recorded: Any) -> str:
        if self.name == "gemini":
            return "".join(p["text"] for c in recorded.body["contents"] for p in c["parts"])
        return str(recorded.body["messages"][-1]["content"])


BACKENDS = [
    Backend(
        "gemini", FakeModelServer.gemini, gemini_ok, gemini_error, make_gemini, "", "GEMINI_API_KEY"
    ),
    Backend(
        "openai_compat",
        FakeModelServer.openai,
        openai_ok,
        openai_error,
        make_openai_compat,
        "/v1",
        "OPENAI_API_KEY",
    ),
]


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


def shapes_project(root: Path) -> Path:
    """A tiny package with one branchy function and its tests (the proposal's checkout)."""
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "shapes.py").write_text(SHAPES)
    (root / "tests" / "test_shapes.py").write_text(TEST_SHAPES)
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return shapes_project(tmp_path / "repo")


def make_request(repo: Path, directives: Directives | None = None, **kw: Any) -> ProposalRequest:
    goal = Goal(id="flatten-area", description="Flatten the branches of area in pkg/shapes.py")
    return ProposalRequest(
        goal=goal,
        root=repo,
        files=("pkg/shapes.py",),
        directives=directives or Directives(),
        state_dir=repo.parent / ".ratchet",
        **kw,
    )


def ledger_lines(repo: Path) -> list[dict[str, Any]]:
    path = repo.parent / ".ratchet" / "spend" / f"{utc_day(time.time())}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --------------------------------------------------------------------------- behaviour


def test_success_returns_the_plan_with_usage_and_records_spend(backend: Backend, repo: Path):
    with backend.server([backend.ok(plan(), tokens_in=321, tokens_out=45)]) as server:
        proposal = backend.make(server).propose(make_request(repo))
    assert proposal.summary == "Flatten area"
    assert [(e.file, e.op, e.symbol) for e in proposal.edits] == [
        ("pkg/shapes.py", "replace", "area")
    ]
    assert (proposal.provider, proposal.usage.tokens_in, proposal.usage.tokens_out) == (
        backend.name,
        321,
        45,
    )
    assert proposal.usage.calls == 1 and proposal.usage.cost_usd > 0
    [sent] = server.requests
    prompt = backend.prompt_of(sent)
    assert "def area(w, h)" in prompt and "Flatten the branches" in prompt
    assert "def test_area" in prompt  # the covering test came along
    if backend.name == "gemini":
        assert sent.headers["x-goog-api-key"] == KEY
        assert sent.body["generationConfig"]["responseMimeType"] == "application/json"
        assert "edits" in json.dumps(sent.body["generationConfig"]["responseJsonSchema"])
    else:
        assert sent.headers["authorization"] == f"Bearer {KEY}"
        assert sent.body["response_format"]["type"] == "json_schema"
    [line] = ledger_lines(repo)
    assert (line["provider"], line["tokens_in"], line["ok"], line["cached"]) == (
        backend.name,
        321,
        True,
        False,
    )


def test_rate_limit_then_success_honours_retry_after(backend: Backend, repo: Path):
    script = [backend.error(429, "slow down", headers={"retry-after": "0.4"}), backend.ok(plan())]
    with backend.server(script) as server:
        provider = backend.make(server)
        started = time.monotonic()
        proposal = provider.propose(make_request(repo))
        elapsed = time.monotonic() - started
    assert proposal.edits and len(server.requests) == 2
    assert elapsed >= 0.4  # the server's wait, not the 0.01 s backoff


def test_gemini_retry_info_in_the_body_is_honoured(repo: Path):
    gemini = BACKENDS[0]
    with gemini.server([gemini_error(429, retry_delay="0.3s"), gemini_ok(plan())]) as server:
        started = time.monotonic()
        gemini.make(server).propose(make_request(repo))
        assert time.monotonic() - started >= 0.3


def test_server_errors_open_the_breaker_which_persists_and_recovers(backend: Backend, repo: Path):
    opts = {"retries": 2, "breaker_threshold": 3, "breaker_cooldown": 0.5, "cache": False}
    script = [backend.error(500)] * 3 + [backend.ok(plan())]
    with backend.server(script) as server:
        with pytest.raises(ProviderTransient, match="after 2 attempts.*500"):
            backend.make(server, **opts).propose(make_request(repo))
        assert len(server.requests) == 2
        with pytest.raises(CircuitOpen, match="opened after 3 consecutive failures"):
            backend.make(server, **opts).propose(make_request(repo))
        assert len(server.requests) == 3
        # A new provider (a restarted daemon) still sees the open circuit: no request sent.
        with pytest.raises(CircuitOpen, match="circuit open"):
            backend.make(server, **opts).propose(make_request(repo))
        assert len(server.requests) == 3
        time.sleep(0.6)  # cool-down over: one trial call goes through and closes it
        assert backend.make(server, **opts).propose(make_request(repo)).edits
        assert len(server.requests) == 4
    failed = [line for line in ledger_lines(repo) if not line["ok"]]
    assert len(failed) == 3  # every failed call is on the record, with no tokens
    assert all(line["tokens_in"] == 0 for line in failed)


def test_timeout_is_retried_then_reported(backend: Backend, repo: Path):
    # The timeout is the whole call's (connect, send, answer): 0.8 s leaves a loaded
    # machine time to deliver the request, and two calls still end well before the reply.
    with backend.server([Reply(delay=5.0)]) as server:
        provider = backend.make(server, timeout=0.8, retries=2)
        started = time.monotonic()
        with pytest.raises(ProviderTransient, match="timed out"):
            provider.propose(make_request(repo))
        assert time.monotonic() - started < 3.0
        assert len(server.requests) == 2


def test_malformed_json_gets_one_repair_round(backend: Backend, repo: Path):
    script = [backend.ok("Sure! Here is my plan: {summary: oops"), backend.ok(plan())]
    with backend.server(script) as server:
        proposal = backend.make(server).propose(make_request(repo))
    assert proposal.edits and proposal.usage.calls == 2
    repair = backend.prompt_of(server.requests[1])
    assert "could not be used" in repair and "no JSON object" in repair
    assert "{summary: oops" in repair  # the bad answer is quoted back


def test_code_that_does_not_parse_is_rejected_after_the_repair_round(backend: Backend, repo: Path):
    bad = plan(code="def area(w, h:\n    return w *\n")
    expected = "after one repair round.*does not parse"
    with (
        backend.server([backend.ok(bad)]) as server,
        pytest.raises(MalformedAnswer, match=expected) as err,
    ):
        backend.make(server).propose(make_request(repo))
    assert len(server.requests) == 2
    assert err.value.usage.calls == 2  # type: ignore[attr-defined]
    assert "does not parse" in backend.prompt_of(server.requests[1])


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (plan(file="pkg/other.py"), "not in scope"),
        (plan(symbol="perimeter"), "'perimeter' is not defined in pkg/shapes.py"),
        (
            json.dumps({"summary": "x", "edits": [{"file": "pkg/shapes.py", "op": "explode"}]}),
            "unknown op",
        ),
    ],
)
def test_invalid_plans_are_repaired(answer: str, problem: str, repo: Path):
    openai = BACKENDS[1]
    with openai.server([openai.ok(answer), openai.ok(plan())]) as server:
        proposal = openai.make(server).propose(make_request(repo))
    assert proposal.edits
    assert problem in openai.prompt_of(server.requests[1])


def test_over_budget_stops_before_any_call(backend: Backend, repo: Path):
    tight = Directives(budgets=Budgets(tokens_per_cycle=50))
    with backend.server([backend.ok(plan())]) as server:
        with pytest.raises(BudgetExceeded, match="tokens_per_cycle"):
            backend.make(server).propose(make_request(repo, tight))
        assert server.requests == []


def test_day_budget_counts_earlier_calls(backend: Backend, repo: Path):
    capped = Directives(budgets=Budgets(tokens_per_day=3000))
    with backend.server([backend.ok(plan(), tokens_in=2500, tokens_out=100)]) as server:
        provider = backend.make(server, cache=False)
        provider.propose(make_request(repo, capped))
        with pytest.raises(BudgetExceeded, match="per day"):
            provider.propose(make_request(repo, capped))
        assert len(server.requests) == 1
    totals = SpendLedger(repo.parent / ".ratchet").totals(goal="flatten-area")
    assert (totals.tokens_in, totals.tokens_out, totals.calls) == (2500, 100, 1)


def test_usd_budget_per_cycle(repo: Path):
    openai = BACKENDS[1]
    capped = Directives(budgets=Budgets(usd_per_cycle=0.2))
    with openai.server([openai.ok(plan(), tokens_in=4000, tokens_out=500)]) as server:
        provider = openai.make(server, cache=False, price_in_per_mtok=100.0)
        provider.propose(make_request(repo, capped))  # ~$0.07 estimated; $0.4 spent
        with pytest.raises(BudgetExceeded, match="USD budget per cycle"):
            provider.propose(make_request(repo, capped, attempt=2, feedback="tests failed"))


def test_identical_request_is_answered_from_the_cache(backend: Backend, repo: Path):
    with backend.server([backend.ok(plan())]) as server:
        first = backend.make(server).propose(make_request(repo))
        again = backend.make(server).propose(make_request(repo))  # e.g. after a crash
    assert len(server.requests) == 1
    assert first.edits == again.edits
    assert (again.usage.cached, again.usage.tokens_in, again.usage.cost_usd) == (1, 0, 0.0)
    assert [line["cached"] for line in ledger_lines(repo)] == [False, True]
    assert list((repo.parent / ".ratchet" / "cache" / "llm").rglob("*.json"))


def test_refine_feedback_and_history_reach_the_prompt(backend: Backend, repo: Path):
    request = make_request(
        repo,
        attempt=2,
        feedback="FAILED tests/test_shapes.py::test_area - assert 5 == 6",
        history=("coverage-ratchet: 81.2 -> 79.9",),
        lessons=("area is called from the CLI with negative widths",),
    )
    with backend.server([backend.ok(plan())]) as server:
        backend.make(server).propose(request)
    prompt = backend.prompt_of(server.requests[0])
    for expected in (
        "assert 5 == 6",
        "coverage-ratchet: 81.2 -> 79.9",
        "negative widths",
        "attempt 2 of 3",
        "Why attempt 1 failed",
    ):
        assert expected in prompt


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_not_retried_and_never_leak_the_key(
    backend: Backend, repo: Path, status: int
):
    echo = backend.error(status, f"bad request for key={KEY} ({KEY})")
    with backend.server([echo]) as server:
        with pytest.raises(ProviderError) as err:
            backend.make(server).propose(make_request(repo))
        # openai_compat asks a 400-ing server at each weaker response format in turn
        # (json_schema, json_object + schema, json_object, none): a 400 may mean "no such
        # format"; once plain text is refused too, it is a configuration error.
        retried = backend.name == "openai_compat" and status == 400
        assert len(server.requests) == (len(LEVELS) if retried else 1)
        if retried:
            formats = [r.body.get("response_format", {}).get("type") for r in server.requests]
            assert formats == ["json_schema", "json_object", "json_object", None]
    assert not isinstance(err.value, ProviderTransient)
    assert KEY not in str(err.value) and "[REDACTED]" in str(err.value)
    assert f"HTTP {status}" in str(err.value)
    assert KEY not in json.dumps(ledger_lines(repo))


def test_fallback_answers_when_the_primary_is_down(repo: Path):
    gemini, openai = BACKENDS
    with gemini.server([gemini_error(503)]) as down, openai.server([openai_ok(plan())]) as up:
        fallback = ProviderConfig(
            name="openai_compat", options={"base_url": up.url + "/v1", "retries": 1}
        )
        config = ProviderConfig(
            name="gemini",
            fallback=fallback,
            options={"base_url": down.url, "retries": 2, "backoff_base": 0.01},
        )
        provider = make_model_provider(config, Directives(), env={"GEMINI_API_KEY": KEY})
        proposal = provider.propose(make_request(repo))
    assert (proposal.provider, len(down.requests), len(up.requests)) == ("openai_compat", 2, 1)


def test_openai_server_without_json_schema_support_gets_the_next_format(repo: Path):
    openai = BACKENDS[1]
    prose = f"Here you go:\n```json\n{plan()}\n```\nHope this helps."
    script = [openai_error(400, "response_format json_schema is not supported"), openai_ok(prose)]
    with openai.server(script) as server:
        provider = openai.make(server)
        proposal = provider.propose(make_request(repo))
    assert proposal.edits
    assert server.requests[0].body["response_format"]["type"] == "json_schema"
    second = server.requests[1].body["response_format"]
    assert second["type"] == "json_object" and "edits" in json.dumps(second["schema"])


def test_openai_server_refusing_every_format_gets_plain_requests(repo: Path):
    openai = BACKENDS[1]
    prose = f"Here you go:\n```json\n{plan()}\n```\nHope this helps."
    refusal = openai_error(400, "response_format is not supported")
    with openai.server([refusal, refusal, refusal, openai_ok(prose)]) as server:
        proposal = openai.make(server).propose(make_request(repo))
    assert proposal.edits
    assert "response_format" not in server.requests[3].body


def test_missing_key_is_reported_as_unavailable(repo: Path):
    from engine.errors import ProviderUnavailable

    provider = make_gemini(ProviderConfig(name="gemini"), Directives(), env={})
    with pytest.raises(ProviderUnavailable, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        provider.propose(make_request(repo))
