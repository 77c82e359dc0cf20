"""``LLMProvider``: the one propose pipeline every model provider shares.

``propose(request)``:

1. build the context within the token budget (:mod:`.context`);
2. render the prompt from the templates in ``prompts/`` (system, request, repair);
3. ask: cache lookup -> budget check (:class:`~engine.errors.BudgetExceeded` *before*
   the call) -> circuit breaker -> tenacity retries -> the transport; every call is
   recorded in the spend ledger, paid or cached, ok or not;
4. validate the answer (:mod:`.answer`); on a problem, ONE repair round with the problem
   and the previous answer fed back; a second problem raises
   :class:`~engine.errors.MalformedAnswer` with the reason;
5. return the Proposal with provider, model and summed usage; cache the turns that
   led to the valid plan (never a failed conversation).

The refine loop is the cycle calling ``propose`` again with ``attempt`` + 1 and
``feedback`` (the failing tests, lint findings, rules): the feedback becomes a prompt
section, so each attempt is a fresh, recorded call. Errors raised here carry the usage
spent so far as ``error.usage`` (a :class:`~engine.model.Usage`) for the cycle's record.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from string import Template
from typing import Any

from engine.errors import BudgetExceeded, MalformedAnswer, ProviderError
from engine.model import Proposal, Usage
from engine.providers.answer import AnswerProblem, parse_answer
from engine.providers.base import ProposalRequest
from engine.providers.breaker import BreakerPolicy, CircuitBreaker
from engine.providers.budget import Price, SpendEntry, SpendLedger, check_budget, utc_day
from engine.providers.cache import ResponseCache
from engine.providers.context import Context, build_context
from engine.providers.options import flag, number
from engine.providers.retry import RetryPolicy, call_with_retries
from engine.providers.schema import plan_schema
from engine.providers.transport import LLMReply, LLMRequest, Transport, estimate_tokens, redact

log = logging.getLogger("engine.providers")
MAX_ANSWER_ECHO = 6000  # characters of a bad answer quoted back in the repair round


def load_prompt(name: str) -> Template:
    """A prompt template from ``engine/providers/prompts/<name>.md``."""
    path = resources.files("engine.providers").joinpath("prompts", f"{name}.md")
    return Template(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, kw_only=True)
class LLMSettings:
    """Provider options that shape calls (all read from ``provider.options``)."""

    temperature: float = 0.2
    max_output_tokens: int = 2048
    timeout: float | None = None  # None: directives.timeouts.provider
    cache: bool = True
    closed_schema: bool = False  # enums of files/symbols in the schema
    max_edits: int | None = None
    context_tokens: int | None = None  # None: directives.context_tokens
    small_file_tokens: int = 400
    max_targets: int = 6
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    price: Price = Price()

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], model: str, *, closed_schema: bool = False
    ) -> LLMSettings:
        """Each option is checked at use (:mod:`.options`): a bad value is a ConfigError."""
        return cls(
            temperature=number(
                options, "temperature", cls.temperature, kind=float, minimum=0, maximum=2
            ),
            max_output_tokens=number(
                options,
                "max_output_tokens",
                cls.max_output_tokens,
                kind=int,
                minimum=1,
                maximum=1_000_000,
            ),
            timeout=_timeout(options),
            cache=flag(options, "cache", True),
            closed_schema=flag(options, "closed_schema", closed_schema),
            max_edits=_optional_count(options, "max_edits", 1000),
            context_tokens=_optional_count(options, "context_tokens", 2_000_000),
            small_file_tokens=number(
                options,
                "small_file_tokens",
                cls.small_file_tokens,
                kind=int,
                minimum=0,
                maximum=1_000_000,
            ),
            max_targets=number(
                options, "max_targets", cls.max_targets, kind=int, minimum=0, maximum=1000
            ),
            retry=RetryPolicy.from_options(options),
            breaker=BreakerPolicy.from_options(options),
            price=Price.for_model(model, options),
        )


def _timeout(options: Mapping[str, Any]) -> float | None:
    if options.get("timeout") is None:
        return None
    return number(options, "timeout", 0.0, kind=float, positive=True, maximum=86400)


def _optional_count(options: Mapping[str, Any], key: str, maximum: int) -> int | None:
    if options.get(key) is None:
        return None
    return number(options, key, 1, kind=int, minimum=1, maximum=maximum)


class _Tally:
    """Usage of one propose() call, summed over its model calls."""

    def __init__(self) -> None:
        self.usage = Usage()

        self._paid_seconds = 0.0

    def add(self, reply: LLMReply | None, cost: float, seconds: float, cached: bool) -> None:
        u = self.usage
        paid = reply if reply and not cached else None
        tokens_out = u.tokens_out + (paid.tokens_out if paid else 0)
        if paid:
            self._paid_seconds += seconds
        self.usage = Usage(
            tokens_in=u.tokens_in + (paid.tokens_in if paid else 0),
            tokens_out=tokens_out,
            tokens_cached=u.tokens_cached + (paid.tokens_cached if paid else 0),
            cost_usd=round(u.cost_usd + cost, 6),
            calls=u.calls + 1,
            cached=u.cached + (1 if cached else 0),
            seconds=round(u.seconds + seconds, 3),
            tokens_per_s=_rate(tokens_out, self._paid_seconds),
        )


def _rate(tokens: int, seconds: float) -> float:
    """Tokens per second, rounded; 0 when nothing was timed."""
    return round(tokens / seconds, 2) if tokens and seconds > 0 else 0.0


class LLMProvider:
    """A model provider: a transport plus the shared pipeline (module docstring)."""

    needs_model = True

    def __init__(
        self,
        transport: Transport,
        settings: LLMSettings,
        *,
        secrets: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport
        self.name = transport.name
        self.model = transport.model
        self.settings = settings
        self._secrets = secrets
        self._clock = clock
        self._sleep = sleep
        self._cycle: tuple[str, str] | None = None  # (goal id, cycle id)
        self.last_context: Context | None = None  # for benchmarks and audits

    # ------------------------------------------------------------------ pipeline

    def propose(self, request: ProposalRequest) -> Proposal:
        tally = _Tally()
        try:
            return self._propose(request, tally)
        except (ProviderError, BudgetExceeded) as error:
            error.usage = tally.usage  # type: ignore[union-attr]
            raise

    def _propose(self, request: ProposalRequest, tally: _Tally) -> Proposal:
        s = self.settings
        context = build_context(
            request,
            budget=s.context_tokens,
            small_file_tokens=s.small_file_tokens,
            max_targets=s.max_targets,
        )
        self.last_context = context
        schema = plan_schema(
            request.files, context.all_symbols, closed=s.closed_schema, max_edits=s.max_edits
        )
        first = LLMRequest(
            system=load_prompt("system").substitute(),
            prompt=self.render_request(request, context),
            schema=schema,
            temperature=s.temperature,
            max_output_tokens=s.max_output_tokens,
            timeout=s.timeout if s.timeout is not None else request.directives.timeouts.provider,
            state_dir=request.state_dir,
        )
        ledger = SpendLedger(request.state_dir, clock=self._clock)
        cache = ResponseCache.under(request.state_dir, enabled=s.cache)
        source = f"{self.name}:{self.model}"

        cycle = self._cycle_id(request, ledger)
        answered = [self._ask(first, request, cycle, ledger, cache, tally)]
        reply = answered[0][0]
        result = parse_answer(reply.text, request, context.symbols, source=source)
        if isinstance(result, AnswerProblem):
            log.info("%s: answer rejected (%s); one repair round", source, result.message)
            repair = replace(first, prompt=self._repair_prompt(first.prompt, reply.text, result))
            answered.append(self._ask(repair, request, cycle, ledger, cache, tally))
            result = parse_answer(answered[1][0].text, request, context.symbols, source=source)
            if isinstance(result, AnswerProblem):
                raise MalformedAnswer(
                    f"{source} answered with an unusable edit plan after one repair round: "
                    f"{redact(result.message, self._secrets)}"
                )
        # Only a conversation that ended in a valid plan is cached (both turns of a repair),
        # so a re-run replays it for free and a failed one is never replayed.
        for cached_reply, key in answered:
            cache.put(key, cached_reply)
        return replace(result, provider=self.name, model=self.model, usage=tally.usage)

    def render_request(self, request: ProposalRequest, context: Context) -> str:
        files = "\n".join(f"- {f}" for f in request.files) or "- (none)"
        return load_prompt("request").substitute(
            goal_id=request.goal.id,
            goal=request.goal.description.strip(),
            files=files,
            context=context.render(),
            attempt=request.attempt,
            max_attempts=request.goal.max_attempts,
        )

    def _repair_prompt(self, prompt: str, answer: str, problem: AnswerProblem) -> str:
        if len(answer) > MAX_ANSWER_ECHO:
            half = MAX_ANSWER_ECHO // 2
            answer = (
                f"{answer[:half]}\n[... {len(answer) - 2 * half} characters cut ...]\n"
                + (answer[-half:])
            )
        repair = load_prompt("repair").substitute(error=problem.message, answer=answer)
        return f"{prompt}\n\n{repair}"

    # ------------------------------------------------------------------ one call

    def _ask(
        self,
        call: LLMRequest,
        request: ProposalRequest,
        cycle: str,
        ledger: SpendLedger,
        cache: ResponseCache,
        tally: _Tally,
    ) -> tuple[LLMReply, str]:
        key = call.cache_key(self.name, self.model)
        hit = cache.get(key)
        if hit is not None:
            hit = self._untrusted(hit)
            self._record(ledger, request, cycle, hit, 0.0, 0.0, cached=True, ok=True)
            tally.add(hit, 0.0, 0.0, cached=True)
            return hit, key
        estimate = estimate_tokens(call.system + call.prompt + json.dumps(call.schema))
        check_budget(
            request.directives.budgets,
            ledger,
            cycle=cycle,
            tokens_estimate=estimate,
            cost_estimate=self.settings.price.cost(estimate, 0),
        )
        breaker = CircuitBreaker(
            redact(f"{self.name}:{self.model}@{self.transport.endpoint}", self._secrets),
            self.settings.breaker,
            request.state_dir,
            clock=self._clock,
        )
        started = self._clock()
        try:
            reply = call_with_retries(
                lambda: breaker.call(lambda: self.transport.complete(call)),
                self.settings.retry,
                label=f"{self.name} {self.model}",
                sleep=self._sleep,
            )
        except ProviderError:
            seconds = self._clock() - started
            self._record(ledger, request, cycle, None, 0.0, seconds, cached=False, ok=False)
            tally.add(None, 0.0, seconds, cached=False)
            raise
        seconds = self._clock() - started
        reply = self._untrusted(reply)
        cost = self.settings.price.cost(reply.tokens_in, reply.tokens_out)
        self._record(ledger, request, cycle, reply, cost, seconds, cached=False, ok=True)
        tally.add(reply, cost, seconds, cached=False)
        return reply, key

    def _untrusted(self, reply: LLMReply) -> LLMReply:
        """The answer is untrusted input: redacted where it arrives, before any use.

        A server may echo the request (its Authorization header, the key) into the plan;
        after this, no commit subject, rationale, code, record or log can carry it.
        """
        return replace(reply, text=redact(reply.text, self._secrets))

    def _cycle_id(self, request: ProposalRequest, ledger: SpendLedger) -> str:
        """Attempt 1 starts a cycle; later attempts continue it (even in a new process)."""
        goal = request.goal.id
        if request.attempt > 1:
            if self._cycle is not None and self._cycle[0] == goal:
                return self._cycle[1]
            previous = ledger.last_cycle(goal)
            if previous:
                self._cycle = (goal, previous)
                return previous
        self._cycle = (goal, ledger.new_cycle_id(goal))
        return self._cycle[1]

    def _record(
        self,
        ledger: SpendLedger,
        request: ProposalRequest,
        cycle: str,
        reply: LLMReply | None,
        cost: float,
        seconds: float,
        *,
        cached: bool,
        ok: bool,
    ) -> None:
        now = self._clock()
        ledger.record(
            SpendEntry(
                ts=round(now, 3),
                day=utc_day(now),
                cycle=cycle,
                goal=request.goal.id,
                attempt=request.attempt,
                provider=self.name,
                model=self.model,
                tokens_in=reply.tokens_in if reply else 0,
                tokens_out=reply.tokens_out if reply else 0,
                tokens_cached=reply.tokens_cached if reply and not cached else 0,
                cost_usd=round(cost, 6),
                cached=cached,
                ok=ok,
                seconds=round(seconds, 3),
                tokens_per_s=_rate(reply.tokens_out, seconds) if reply and not cached else 0.0,
            )
        )
