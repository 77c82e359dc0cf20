"""``LLMProvider``: the one propose pipeline every model provider shares.

``propose(request)``:

1. build the context within the token budget (:mod:`.context`);
2. render the prompt from the templates in ``prompts/`` (system, request, repair);
3. ask: cache lookup -> budget check (:class:`~engine.errors.BudgetExceeded` *before*
   the call) -> circuit breaker -> tenacity retries -> the transport; every call is
   recorded in the spend ledger, paid or cached, ok or not. A call refused because the
   prompt exceeds the model's context window (:class:`~engine.errors.ContextTooLong`)
   teaches the endpoint's window (:mod:`.window`), and the proposal is asked again with a
   context and an answer length that fit it (up to :data:`WINDOW_TRIES` calls); later
   calls start within it;
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from engine.errors import BudgetExceeded, ContextTooLong, MalformedAnswer, ProviderError
from engine.model import Proposal
from engine.providers.answer import AnswerProblem, parse_answer
from engine.providers.base import ProposalRequest, Review, ReviewRequest
from engine.providers.breaker import CircuitBreaker
from engine.providers.budget import SpendEntry, SpendLedger, check_budget, utc_day
from engine.providers.cache import ResponseCache
from engine.providers.context import Context, build_context
from engine.providers.editformat import format_ops, system_prompt
from engine.providers.retry import call_with_retries
from engine.providers.review import MAX_OUTPUT_TOKENS as REVIEW_TOKENS
from engine.providers.review import REVIEW_SCHEMA, read_review, review_prompt
from engine.providers.schema import plan_schema
from engine.providers.settings import LLMSettings as LLMSettings  # re-exported
from engine.providers.speed import SpeedMemory, fitting_budget, speed_key
from engine.providers.sse import ProgressCallback
from engine.providers.tally import Tally, rate
from engine.providers.templates import cut_middle, load_prompt
from engine.providers.transport import (
    CHARS_PER_TOKEN,
    LLMReply,
    LLMRequest,
    Transport,
    estimate_tokens,
    redact,
)
from engine.providers.window import (
    RAISE_IT,
    USABLE,
    Window,
    WindowMemory,
    fit_window,
    learned,
)

log = logging.getLogger("engine.providers")
MAX_ANSWER_ECHO = 6000  # characters of a bad answer quoted back in the repair round
PROMPT_OVERHEAD = 120  # tokens of the request template around the context
WINDOW_TRIES = 3  # calls of one proposal refused for the context window before giving up


@contextmanager
def _charged(tally: Tally) -> Iterator[None]:
    """A provider error or budget refusal leaves with the usage spent so far (``.usage``)."""
    try:
        yield
    except (ProviderError, BudgetExceeded) as error:
        error.usage = tally.usage  # type: ignore[union-attr]
        raise


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
        # Called (from the HTTP worker thread) as a streamed answer arrives: the CLI or
        # daemon sets it to show progress; a callback that raises is ignored.
        self.on_progress: ProgressCallback | None = None
        self._heads: dict[str, str] = {}  # goal id -> the last stable prompt head

    # ------------------------------------------------------------------ pipeline

    def propose(self, request: ProposalRequest) -> Proposal:
        tally = Tally()
        with _charged(tally):
            return self._propose(request, tally)

    def _propose(self, request: ProposalRequest, tally: Tally) -> Proposal:
        s = self.settings
        system, timeout = self._system(), self._timeout(request)
        ledger = SpendLedger(request.state_dir, clock=self._clock)
        cache = ResponseCache.under(request.state_dir, enabled=s.cache)
        source = f"{self.name}:{self.model}"

        cycle = self._cycle_id(request, ledger)
        for tries in range(1, WINDOW_TRIES + 1):
            context, first = self._first_request(request, system, timeout)
            try:
                answered = [self._ask(first, request, cycle, ledger, cache, tally)]
                break
            except ContextTooLong as refusal:  # learn the window; a smaller context next
                window = self._learn_window(request, first, refusal)
                if tries == WINDOW_TRIES:
                    raise ContextTooLong(
                        f"{refusal} (the prompt was cut {tries - 1} time(s) to fit a context "
                        f"window of {window.tokens} tokens and still did not: {RAISE_IT})",
                        window=window.tokens,
                    ) from None
        reply = answered[0][0]
        result = parse_answer(reply.text, request, context.symbols, source=source)
        if isinstance(result, AnswerProblem):
            log.info("%s: answer rejected (%s); one repair round", source, result.message)
            echo = self._echo_room(request, first, result)
            repair = replace(
                first, prompt=self._repair_prompt(first.prompt, reply.text, result, echo)
            )
            try:
                answered.append(
                    self._ask(repair, request, cycle, ledger, cache, tally, kind="repair")
                )
            except ContextTooLong as refusal:  # the answer quoted back made it too long
                raise MalformedAnswer(
                    f"{source} answered with an unusable edit plan "
                    f"({redact(result.message, self._secrets)}); the repair round did not fit "
                    f"the model's context window: {refusal}"
                ) from None
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

    def _first_request(
        self, request: ProposalRequest, system: str, timeout: float
    ) -> tuple[Context, LLMRequest]:
        """The context and the first call of a proposal, within what fits the endpoint."""
        s = self.settings
        budget, answer_tokens = self._fit(request, system, timeout)
        context = self._build(request, budget)
        self.last_context = context
        schema = plan_schema(
            request.files,
            context.all_symbols,
            closed=s.closed_schema,
            max_edits=s.max_edits,
            ops=format_ops(s.edit_format),
        )
        first = LLMRequest(
            system=system,
            prompt=self.render_request(request, context),
            schema=schema,
            temperature=s.temperature,
            max_output_tokens=answer_tokens,
            timeout=timeout,
            state_dir=request.state_dir,
            on_progress=self.on_progress,
        )
        return context, first

    def _learn_window(
        self, request: ProposalRequest, call: LLMRequest, refusal: ContextTooLong
    ) -> Window:
        memory = self._windows(request)
        estimate = estimate_tokens(call.system + call.prompt)
        window = learned(refusal, estimate, memory.get(self._speed_key))
        memory.put(self._speed_key, window)
        log.info(
            "%s: refused a prompt of ~%d tokens: context window %d tokens (%.2f of its tokens "
            "per estimated one); asking again with a smaller context",
            self._speed_key, estimate, window.tokens, window.ratio,
        )  # fmt: skip
        return window

    def _windows(self, request: ProposalRequest) -> WindowMemory:
        return WindowMemory(request.state_dir, clock=self._clock)

    @property
    def self_review(self) -> bool:
        """Whether this provider reviews its diffs by default (a goal option overrides)."""
        return self.settings.self_review

    def review(self, ask: ReviewRequest) -> Review:
        """Self-review (:mod:`.review`): one short call whose prompt is the proposal's
        stable head plus the diff; its usage is added to ``ask.spent``."""
        tally = Tally(ask.spent)
        with _charged(tally):
            return self._review(ask, tally)

    def _review(self, ask: ReviewRequest, tally: Tally) -> Review:
        request = ask.request
        s = self.settings
        system, timeout = self._system(), self._timeout(request)
        budget, answer_tokens = self._fit(request, system, timeout)
        head = self._heads.get(request.goal.id)
        if head is None:  # a new process: rebuild the same head
            head = self._head(request, self._build(request, budget))
        call = LLMRequest(
            system=system,
            prompt=head + review_prompt(ask),
            schema=REVIEW_SCHEMA,
            temperature=0.0,
            max_output_tokens=min(REVIEW_TOKENS, answer_tokens),
            timeout=timeout,
            state_dir=request.state_dir,
            on_progress=self.on_progress,
        )
        ledger = SpendLedger(request.state_dir, clock=self._clock)
        cache = ResponseCache.under(request.state_dir, enabled=s.cache)
        goal = request.goal.id
        cycle = self._cycle[1] if self._cycle and self._cycle[0] == goal else None
        cycle = cycle or self._cycle_id(request, ledger)
        reply, key = self._ask(call, request, cycle, ledger, cache, tally, kind="review")
        verdict = read_review(reply.text)
        if verdict is None:
            reason = "the review answer could not be read; the gate decides"
            return Review(verdict="ok", reason=reason, usage=tally.usage)
        cache.put(key, reply)
        return Review(verdict=verdict[0], reason=verdict[1], usage=tally.usage)

    def _system(self) -> str:
        return system_prompt(self.settings.edit_format)

    def _timeout(self, request: ProposalRequest) -> float:
        """Seconds for one call: ``options.timeout``, else ``directives.timeouts.provider``."""
        s = self.settings
        return s.timeout if s.timeout is not None else request.directives.timeouts.provider

    def _build(self, request: ProposalRequest, budget: int) -> Context:
        """The context of a proposal within ``budget``, and of a review rebuilding its head
        (the same one, from the same :meth:`_fit`)."""
        return build_context(
            request,
            budget=budget,
            small_file_tokens=self.settings.small_file_tokens,
            max_targets=self.settings.max_targets,
        )

    def _fit(self, request: ProposalRequest, system: str, timeout: float) -> tuple[int, int]:
        """``(context budget, answer tokens)``: :meth:`_budget`, and ``max_output_tokens``,
        both lowered to fit the context window this endpoint refused beyond
        (:mod:`.window`; raises ContextTooLong when no useful prompt fits it)."""
        budget, answer = self._budget(request, system, timeout), self.settings.max_output_tokens
        window = self._windows(request).get(self._speed_key)
        if window is None:
            return budget, answer
        fitted = fit_window(
            window,
            configured=budget,
            max_output_tokens=answer,
            overhead_tokens=estimate_tokens(system) + PROMPT_OVERHEAD,
        )
        if fitted != (budget, answer):
            log.info(
                "%s: context budget %d -> %d tokens, answer %d -> %d, to fit its context "
                "window of %d tokens", self._speed_key, budget, fitted[0], answer, fitted[1],
                window.tokens,
            )  # fmt: skip
        return fitted

    def _budget(self, request: ProposalRequest, system: str, timeout: float) -> int:
        """The configured context budget, lowered so one call fits ``timeout`` at the
        speed measured for this endpoint (:mod:`.speed`)."""
        s = self.settings
        configured = (
            s.context_tokens if s.context_tokens is not None else request.directives.context_tokens
        )
        speed = SpeedMemory(request.state_dir).get(self._speed_key)
        budget = fitting_budget(
            speed,
            timeout=timeout,
            configured=configured,
            max_output_tokens=s.max_output_tokens,
            overhead_tokens=estimate_tokens(system) + PROMPT_OVERHEAD,
        )
        if budget < configured and speed is not None:
            log.info(
                "%s: context budget %d -> %d tokens to fit %gs at %.1f prompt and %.1f "
                "answer tokens/s",
                self._speed_key,
                configured,
                budget,
                timeout,
                speed.prompt_tokens_per_s,
                speed.answer_tokens_per_s,
            )
        return budget

    @property
    def _speed_key(self) -> str:
        return speed_key(self.name, self.transport.endpoint, self.model)

    def render_request(self, request: ProposalRequest, context: Context) -> str:
        """The user turn: goal, scope and the stable context first, then what varies.

        Everything before the volatile tail (lessons, rejected attempts, the last failure,
        the attempt number) depends only on the goal and the files at the target tip, so
        it is byte-identical across attempts and cycles: a server's prefix cache hits.
        """
        tail = load_prompt("answer").substitute(
            volatile=context.render_volatile(),
            attempt=request.attempt,
            max_attempts=request.goal.max_attempts,
        )
        return self._head(request, context) + tail

    def _head(self, request: ProposalRequest, context: Context) -> str:
        """The stable head of the user turn (goal, scope, stable context)."""
        files = "\n".join(f"- {f}" for f in request.files) or "- (none)"
        head = load_prompt("request").substitute(
            goal_id=request.goal.id,
            goal=request.goal.description.strip(),
            files=files,
            context=context.render_stable(),
        )
        self._heads[request.goal.id] = head  # the self-review reuses it (prefix cache)
        return head

    def _echo_room(
        self, request: ProposalRequest, first: LLMRequest, problem: AnswerProblem
    ) -> int:
        """Characters of the bad answer the repair round may quote: :data:`MAX_ANSWER_ECHO`,
        fewer where the endpoint's context window (:mod:`.window`) has no room for them
        beside the first prompt, the problem and the answer to come (a 2048 window: the
        repair round overflowed, and the proposal ended unrepaired)."""
        window = self._windows(request).get(self._speed_key)
        if window is None:
            return MAX_ANSWER_ECHO
        bare = first.system + self._repair_prompt(first.prompt, "", problem, 0)
        used = window.ratio * estimate_tokens(bare) + first.max_output_tokens
        spare = int(window.tokens * USABLE) - int(used)
        return max(0, min(MAX_ANSWER_ECHO, int(spare / window.ratio) * CHARS_PER_TOKEN))

    def _repair_prompt(
        self, prompt: str, answer: str, problem: AnswerProblem, echo: int = MAX_ANSWER_ECHO
    ) -> str:
        answer = cut_middle(answer, echo) if echo > 0 else "(left out: no room in the window)"
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
        tally: Tally,
        *,
        kind: str = "propose",
    ) -> tuple[LLMReply, str]:
        key = call.cache_key(self.name, self.model)
        hit = cache.get(key)
        if hit is not None:
            hit = self._untrusted(hit)
            self._record(ledger, request, cycle, hit, 0.0, 0.0, cached=True, ok=True)
            tally.add(hit, 0.0, 0.0, cached=True, kind=kind)
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
            tally.add(None, 0.0, seconds, cached=False, kind=kind)
            raise
        seconds = self._clock() - started
        reply = self._untrusted(reply)
        cost = self.settings.price.cost(reply.tokens_in, reply.tokens_out)
        self._record(ledger, request, cycle, reply, cost, seconds, cached=False, ok=True)
        tally.add(reply, cost, seconds, cached=False, kind=kind)
        SpeedMemory(request.state_dir).observe(self._speed_key, reply)
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
                tokens_per_s=rate(reply.tokens_out, seconds) if reply and not cached else 0.0,
            )
        )
