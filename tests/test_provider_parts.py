"""The parts around every model call, each fed data: answers, redaction, retry-after,
retries, breaker, budgets, cache, schema, auto resolution, config validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.errors import (
    BudgetExceeded,
    ConfigError,
    MalformedAnswer,
    ProviderError,
    ProviderTransient,
    ProviderUnavailable,
)
from engine.model import Budgets, Directives, Goal, ProviderConfig
from engine.providers.answer import AnswerProblem, extract_json, parse_answer
from engine.providers.auto import resolve_auto
from engine.providers.base import ProposalRequest
from engine.providers.breaker import BreakerPolicy, CircuitBreaker, CircuitOpen
from engine.providers.budget import Price, SpendEntry, SpendLedger, check_budget, utc_day
from engine.providers.cache import ResponseCache
from engine.providers.gemini import make_gemini
from engine.providers.llm import LLMProvider, LLMSettings
from engine.providers.retry import RetryPolicy, call_with_retries
from engine.providers.schema import plan_schema
from engine.providers.transport import (
    CallableTransport,
    LLMReply,
    LLMRequest,
    env_secret,
    parse_retry_after,
    redact,
)
from tests.local_model_env import hide_local_model, show_local_model

# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  {"a": 1}\n', {"a": 1}),
        ('Here:\n```json\n{"a": 1}\n```\nbye', {"a": 1}),
        ('I think {"a": {"b": [1, 2]}} is it {"c": 3}', {"a": {"b": [1, 2]}}),
        ("[1, 2]", None),
        ("no json here", None),
        ('{"a": 1', None),
        # a reasoning model's thoughts, drafts of the plan in them, come before the answer
        ('<think>\nMaybe {"a": 0}? No.\n</think>\n\n{"a": 1}', {"a": 1}),
        ('<THINKING>{"a": 0}</THINKING>```json\n{"a": 1}\n```', {"a": 1}),
        ('(the template opened it) {"a": 0} then</think>{"a": 1}', {"a": 1}),
    ],
)
def test_extract_json(text: str, expected: dict[str, Any] | None):
    assert extract_json(text) == expected


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "m.py").write_text(
        "def f():\n    return 1\n\n\nclass C:\n    def g(self):\n        return 2\n"
    )
    return tmp_path


def edit_answer(**edit: Any) -> str:
    return json.dumps({"summary": "s", "edits": [edit]})


def test_a_summary_of_several_lines_keeps_its_first_and_moves_the_rest_to_the_rationale(
    repo: Path,
) -> None:
    # Seen from the local Gemma 270M through the grammar: a plan file's author is told to
    # fix it, a model's answer is reshaped (nothing of it lost) instead of failing the cycle.
    answer = json.dumps(
        {
            "summary": "Flatten f\nIt had a needless branch.\n",
            "rationale": "Simpler.",
            "edits": [
                {"file": "m.py", "op": "replace", "symbol": "f", "code": "def f():\n    return 2\n"}
            ],
        }
    )
    request = ProposalRequest(goal=Goal(id="g", description="d"), root=repo, files=("m.py",))
    result = parse_answer(answer, request, {"m.py": ("f", "C", "C.g")}, source="test")
    assert not isinstance(result, AnswerProblem), result
    assert result.summary == "Flatten f"
    assert result.rationale == "It had a needless branch.\n\nSimpler."


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (edit_answer(file="m.py", op="replace", symbol="f", code="def f():\n    return 2\n"), None),
        (
            edit_answer(file="m.py", op="replace", symbol="C.g", code="def g(self):\n    return 3"),
            None,
        ),
        (edit_answer(file="m.py", op="replace", symbol="f", code="def f(:\n"), "does not parse"),
        (
            edit_answer(file="m.py", op="replace", symbol="h", code="def h(): pass"),
            "'h' is not defined in m.py; it defines: f, C",
        ),
        (edit_answer(file="other.py", op="replace", symbol="f", code="x = 1"), "not in scope"),
        (edit_answer(file="../etc/passwd", op="create", code="x"), "'..' component"),
        (edit_answer(file="new.py", op="create", code="X = 1\n"), None),
        (edit_answer(file="m.py", op="create", code="X = 1\n"), "already exists"),
        (
            edit_answer(file="m.py", op="insert", after="nope", code="def z(): pass"),
            "'nope' is not defined",
        ),
        (
            edit_answer(file="m.py", op="search_replace", search="return 1", replace="return (1"),
            "after search_replace does not parse",
        ),
        (
            edit_answer(file="m.py", op="search_replace", search="return 9", replace="x"),
            "does not occur",
        ),
        (edit_answer(file="m.py", op="delete", symbol="f", code="", search="", after=""), None),
        (json.dumps({"summary": "s", "edits": [{"file": "m.py"}]}), "not a valid edit plan"),
        (json.dumps({"summary": "nothing to do", "edits": []}), None),
        (json.dumps({"summary": "<imperative commit subject>", "edits": []}), "placeholder"),
        (
            edit_answer(file="m.py", op="replace", symbol="f", code="import os"),
            "exactly one complete def or class",
        ),
        (
            edit_answer(file="m.py", op="replace", symbol="f", code="def f(): pass\ndef h(): pass"),
            "exactly one complete def or class",
        ),
        (edit_answer(file="m.py", op="add_import", code="x = 1"), "only import statements"),
        (edit_answer(file="m.py", op="add_import", code="import os\nfrom a import b"), None),
        ("just prose", "no JSON object"),
    ],
)
def test_parse_answer(repo: Path, answer: str, problem: str | None):
    request = ProposalRequest(goal=Goal(id="g", description="d"), root=repo, files=("m.py",))
    symbols = {"m.py": ("f", "C", "C.g")}
    result = parse_answer(answer, request, symbols, source="test")
    if problem is None:
        assert not isinstance(result, AnswerProblem), result
    else:
        assert isinstance(result, AnswerProblem) and problem in result.message, result


# --------------------------------------------------------------------------- secrets & headers


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("key is hunter2hunter2", ["hunter2hunter2"], "key is [REDACTED]"),
        ("url?key=abc123&x=1", [], "url?key=[REDACTED]&x=1"),
        ("Authorization: Bearer sk-abcdefghijklmnopqrstuv", [], "Authorization: Bearer [REDACTED]"),
        ("leaked AIzaSyA1234567890abcdefghijklmnopqrstu", [], "leaked [REDACTED]"),
        ("nothing secret", ["abc"], "nothing secret"),
    ],
)
def test_redact(text: str, secrets: list[str], expected: str):
    assert redact(text, secrets) == expected


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # in the past
        ({"retry-after": "soon"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None):
    assert parse_retry_after(headers) == seconds


# --------------------------------------------------------------------------- retries & breaker


class Flaky:
    """Fails with the given errors in order, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retries_wait_for_retry_after_but_not_past_its_cap():
    waits: list[float] = []
    flaky = Flaky(ProviderTransient("429", retry_after=5.0), ProviderTransient("429", 500.0))
    policy = RetryPolicy(attempts=3, base=0.01, retry_after_max=60.0)
    assert call_with_retries(flaky, policy, sleep=waits.append) == "ok"
    assert waits[0] == 5.0 and waits[1] == 60.0


def test_backoff_grows_exponentially_with_jitter():
    waits: list[float] = []
    flaky = Flaky(*(ProviderTransient("503") for _ in range(4)))
    call_with_retries(flaky, RetryPolicy(attempts=5, base=1.0, max_wait=100), sleep=waits.append)
    assert [int(w) for w in waits] == [1, 2, 4, 8]  # base * 2**n + jitter in [0, base)


@pytest.mark.parametrize("error", [ProviderError("401"), ValueError("bug")])
def test_non_transient_errors_are_not_retried(error: Exception):
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        call_with_retries(flaky, RetryPolicy(attempts=5, base=0), sleep=lambda s: None)
    assert flaky.calls == 1


@pytest.mark.parametrize(
    ("options", "field"),
    [({"retries": 0}, "retries"), ({"backoff_base": -1}, "base")],
)
def test_retry_options_are_validated(options: dict[str, Any], field: str):
    with pytest.raises(ConfigError, match=field):
        RetryPolicy.from_options(options)


def test_breaker_opens_then_half_opens_after_cooldown(tmp_path: Path):
    now = [1000.0]
    breaker = CircuitBreaker(
        "p", BreakerPolicy(threshold=2, cooldown=60), tmp_path, clock=lambda: now[0]
    )
    with pytest.raises(ProviderTransient):
        breaker.call(Flaky(ProviderTransient("500")))
    with pytest.raises(CircuitOpen, match="opened after 2"):
        breaker.call(Flaky(ProviderTransient("500")))
    never = Flaky()
    with pytest.raises(CircuitOpen, match="next try in 60s"):
        breaker.call(never)
    assert never.calls == 0
    now[0] += 61
    with pytest.raises(CircuitOpen):  # the half-open trial fails: open again
        breaker.call(Flaky(ProviderTransient("500")))
    now[0] += 61
    assert breaker.call(Flaky()) == "ok"
    assert breaker.state().failures == 0 and breaker.state().opened_at is None


def test_breaker_ignores_config_errors_and_survives_a_corrupt_file(tmp_path: Path):
    breaker = CircuitBreaker("p", BreakerPolicy(threshold=1), tmp_path)
    with pytest.raises(ProviderError):
        breaker.call(Flaky(ProviderError("401")))
    assert breaker.state().failures == 0
    for path in (tmp_path / "breaker").glob("*.json"):
        path.write_text("{not json")
    assert breaker.call(Flaky()) == "ok"


# --------------------------------------------------------------------------- budgets & cache


def entry(**kw: Any) -> SpendEntry:
    base: dict[str, Any] = {
        "ts": 0.0,
        "day": "2025-06-01",
        "cycle": "c1",
        "goal": "g",
        "attempt": 1,
        "provider": "p",
        "model": "m",
    }
    return SpendEntry(**{**base, **kw})


@pytest.mark.parametrize(
    ("budgets", "spent", "estimate", "refused"),
    [
        (Budgets(), [1_000_000], 10, None),
        (Budgets(tokens_per_cycle=1000), [500], 400, None),
        (Budgets(tokens_per_cycle=1000), [500], 600, "per cycle"),
        (Budgets(tokens_per_day=1000), [900], 200, "per day"),
        (Budgets(usd_per_day=1.0), [0], 10, None),
    ],
)
def test_check_budget(budgets: Budgets, spent: list[int], estimate: int, refused: str | None):
    clock = 1748779200.0  # 2025-06-01T12:00Z
    ledger = SpendLedger(None, clock=lambda: clock)
    for tokens in spent:
        ledger.record(entry(tokens_in=tokens, day=utc_day(clock)))
    if refused is None:
        check_budget(budgets, ledger, cycle="c1", tokens_estimate=estimate, cost_estimate=0.0)
    else:
        with pytest.raises(BudgetExceeded, match=refused):
            check_budget(budgets, ledger, cycle="c1", tokens_estimate=estimate, cost_estimate=0)


def test_ledger_totals_skip_cached_calls_and_torn_lines(tmp_path: Path):
    clock = 1748779200.0
    ledger = SpendLedger(tmp_path, clock=lambda: clock)
    ledger.record(entry(tokens_in=10, tokens_out=5, cost_usd=0.5, cycle="a"))
    ledger.record(entry(tokens_in=10, cached=True, cycle="a"))
    ledger.record(entry(tokens_in=7, cycle="b", goal="h"))
    with (tmp_path / "spend" / "2025-06-01.jsonl").open("a") as out:
        out.write('{"torn": ')
    totals = ledger.totals(cycle="a")
    assert (totals.tokens_in, totals.tokens_out, totals.cost_usd, totals.calls, totals.cached) == (
        10,
        5,
        0.5,
        2,
        1,
    )
    assert ledger.totals(goal="h").tokens_in == 7
    assert ledger.last_cycle("g") == "a"


@pytest.mark.parametrize(
    ("model", "options", "cost"),
    [
        ("gemini-2.5-flash", {}, 0.30 + 2.50),
        ("models/gemini-2.5-flash-lite-preview", {}, 0.10 + 0.40),
        ("my-local-model", {}, 0.0),
        ("gpt-4o-mini", {"price_in_per_mtok": 1, "price_out_per_mtok": 2}, 3.0),
    ],
)
def test_prices(model: str, options: dict[str, Any], cost: float):
    assert Price.for_model(model, options).cost(1_000_000, 1_000_000) == pytest.approx(cost)


def test_cache_round_trip_and_corrupt_entry_is_a_miss(tmp_path: Path):
    cache = ResponseCache.under(tmp_path)
    cache.put("ab" * 32, LLMReply(text="x", tokens_in=1, tokens_out=2))
    assert cache.get("ab" * 32) == LLMReply(text="x", tokens_in=1, tokens_out=2)
    next((tmp_path / "cache" / "llm").rglob("*.json")).write_text("garbage")
    assert cache.get("ab" * 32) is None
    assert ResponseCache.under(None).get("ab" * 32) is None


def test_cache_key_depends_on_model_prompt_and_settings_only():
    request = LLMRequest(system="s", prompt="p", schema={}, timeout=1.0)
    key = request.cache_key("gemini", "m")
    assert key == LLMRequest(system="s", prompt="p", schema={}, timeout=99.0).cache_key(
        "gemini", "m"
    )
    assert key != request.cache_key("gemini", "other")
    assert key != LLMRequest(system="s", prompt="p2", schema={}).cache_key("gemini", "m")
    assert key != LLMRequest(system="s", prompt="p", schema={}, temperature=0.9).cache_key(
        "gemini", "m"
    )


# --------------------------------------------------------------------------- provider pipeline


def test_pipeline_with_a_callable_transport_repairs_then_caches(tmp_path: Path):
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    answers = ["nonsense", edit_answer(file="m.py", op="delete", symbol="f")]
    seen: list[LLMRequest] = []

    def handler(request: LLMRequest) -> LLMReply:
        seen.append(request)
        repairing = "could not be used" in request.prompt  # same prompt, same answer
        return LLMReply(text=answers[repairing], tokens_in=10, tokens_out=3)

    provider = LLMProvider(CallableTransport(handler), LLMSettings())
    request = ProposalRequest(
        goal=Goal(id="g", description="remove f"),
        root=tmp_path,
        files=("m.py",),
        state_dir=tmp_path / ".ratchet",
    )
    first = provider.propose(request)
    assert (first.edits[0].op, first.usage.calls, first.usage.tokens_in) == ("delete", 2, 20)
    again = provider.propose(request)  # a re-run replays both turns from the cache
    assert (len(seen), again.usage.cached, again.usage.calls) == (2, 2, 2)
    assert again.edits == first.edits


def test_malformed_twice_raises_with_usage(tmp_path: Path):
    (tmp_path / "m.py").write_text("x = 1\n")
    provider = LLMProvider(CallableTransport(lambda r: LLMReply(text="{}")), LLMSettings())
    request = ProposalRequest(goal=Goal(id="g", description="d"), root=tmp_path, files=("m.py",))
    with pytest.raises(MalformedAnswer, match="summary: missing") as err:
        provider.propose(request)
    assert err.value.usage.calls == 2  # type: ignore[attr-defined]


def test_closed_schema_enumerates_files_and_symbols_per_op():
    schema = plan_schema(["a.py", "b.py"], ["f", "C.g"], closed=True, max_edits=2)
    variants = {
        v["properties"]["op"]["enum"][0]: v for v in schema["properties"]["edits"]["items"]["anyOf"]
    }
    # no ``create``: a new path cannot be an enum, and a free file field is exactly where a
    # small model copies the prompt example's path (seen with Gemma 270M)
    assert sorted(variants) == [
        "add_import", "delete", "insert", "patch", "replace", "search_replace"
    ]  # fmt: skip
    replace = variants["replace"]
    assert replace["required"] == ["file", "op", "symbol", "code"]
    assert replace["properties"]["file"]["enum"] == ["a.py", "b.py"]
    assert replace["properties"]["symbol"]["enum"] == ["C.g", "f"]
    assert variants["insert"]["properties"]["after"]["enum"] == ["", "C.g", "f"]
    assert all(v["additionalProperties"] is False for v in variants.values())
    assert schema["properties"]["edits"]["maxItems"] == 2
    assert (
        "enum"
        not in plan_schema(["a.py"], ["f"])["properties"]["edits"]["items"]["properties"]["file"]
    )


@pytest.mark.parametrize(
    ("options", "env", "expected"),
    [
        ({}, {"GEMINI_API_KEY": "a", "GOOGLE_API_KEY": "b"}, ("a", "GEMINI_API_KEY")),
        ({}, {"GOOGLE_API_KEY": "b"}, ("b", "GOOGLE_API_KEY")),
        ({}, {}, (None, "GEMINI_API_KEY or GOOGLE_API_KEY")),
        ({"api_key": "${MY_KEY}"}, {"MY_KEY": "m", "GEMINI_API_KEY": "a"}, ("m", "MY_KEY")),
        ({"api_key": "${MY_KEY}"}, {"GEMINI_API_KEY": "a"}, (None, "MY_KEY")),
        ({"api_key_env": "TEAM_KEY"}, {"TEAM_KEY": "t"}, ("t", "TEAM_KEY")),
    ],
)
def test_env_secret(options: dict[str, str], env: dict[str, str], expected: tuple[Any, str]):
    assert env_secret(env, options, ("GEMINI_API_KEY", "GOOGLE_API_KEY")) == expected


def test_literal_api_key_in_directives_is_refused():
    with pytest.raises(ConfigError, match="api_key"):
        make_gemini(ProviderConfig(name="gemini", options={"api_key": "x"}), Directives(), env={})


def test_unset_key_variable_is_named_on_the_first_call(tmp_path: Path):
    config = ProviderConfig(name="gemini", options={"api_key": "${TEAM_GEMINI_KEY}"})
    request = ProposalRequest(goal=Goal(id="g", description="d"), root=tmp_path, files=())
    with pytest.raises(ProviderUnavailable, match="set TEAM_GEMINI_KEY"):
        make_gemini(config, Directives(), env={"GEMINI_API_KEY": "other"}).propose(request)


# --------------------------------------------------------------------------- auto


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GEMINI_API_KEY": "k"}, "gemini"),
        ({"GOOGLE_API_KEY": "k", "OPENAI_BASE_URL": "http://x"}, "gemini"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}, "openai_compat"),
        ({"OPENAI_API_KEY": "k"}, "ruff"),  # a key alone does not pick OpenAI
        ({"GEMINI_API_KEY": ""}, "ruff"),
    ],
)
def test_resolve_auto(env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch):
    hide_local_model(monkeypatch)
    assert resolve_auto(Directives(), env) == expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "local"),
        ({"OPENAI_API_KEY": "k"}, "local"),
        ({"OPENAI_BASE_URL": "http://x"}, "openai_compat"),
    ],
)
def test_resolve_auto_with_the_local_extra_installed(
    env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    # "local" only when llama-cpp-python is importable *and* a model is configured.
    show_local_model(monkeypatch, tmp_path)
    assert resolve_auto(Directives(), env) == expected


# --------------------------------------------------------------------------- the redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token ghp_" + "a1B2" * 9, "token [REDACTED]"),
        ("AKIAABCDEFGHIJKLMNOP in a log", "[REDACTED] in a log"),
        ("api_key=Zx81hfa93hfa83hd72ma", "api_key=[REDACTED]"),
        ('"password": "hunter2-Zx81hfa93hfa8"', '"password": "[REDACTED]"'),
        ("commit 0123456789abcdef0123456789abcdef01234567", None),  # a SHA is not a secret
        ("sorted(xs, key=lambda item: item.name_with_long_words)", None),
        ("def f(token_count=1234567890123456): ...", None),
    ],
)
def test_key_shapes_are_redacted_and_code_is_not(text: str, expected: str | None):
    from engine.redact import redact as redact_all

    assert redact_all(text) == (text if expected is None else expected)


def test_registered_and_secret_named_environment_values_are_redacted(monkeypatch):
    from engine import redact as redactor

    monkeypatch.setenv("MY_SERVICE_TOKEN", "value-of-the-token-42")
    redactor.register("registered-secret-value")
    text = "a registered-secret-value and value-of-the-token-42 and short"
    assert redactor.redact(text) == "a [REDACTED] and [REDACTED] and short"
    assert redactor.redact_data({"k": ["registered-secret-value"]}) == {"k": ["[REDACTED]"]}
