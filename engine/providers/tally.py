"""The usage of one ``propose``/``review``: every model call measured, then summed.

Each call becomes a :class:`~engine.model.CallStat` (kind, prompt tokens, cached tokens,
answer tokens, seconds, the prompt phase, tokens/s) in ``Usage.per_call``; the totals are
summed over the calls. Calls answered from ratchet's response cache count as calls but
cost no tokens and no time.
"""

from __future__ import annotations

from engine.model import CallStat, Usage
from engine.providers.speed import rates
from engine.providers.transport import LLMReply


def rate(tokens: int, seconds: float) -> float:
    """Tokens per second, rounded; 0 when nothing was timed."""
    return round(tokens / seconds, 2) if tokens and seconds > 0 else 0.0


def call_stat(
    kind: str, reply: LLMReply | None, seconds: float, *, cached: bool, ok: bool
) -> CallStat:
    """One call as measured (a failed call has no reply: only its time)."""
    if reply is None or cached:
        return CallStat(kind=kind, seconds=round(seconds, 3), cached=cached, ok=ok)
    prompt_rate, answer_rate = rates(reply)
    return CallStat(
        kind=kind,
        tokens_in=reply.tokens_in,
        tokens_cached=reply.tokens_cached,
        tokens_out=reply.tokens_out,
        seconds=round(seconds, 3),
        prompt_seconds=round(reply.prompt_seconds, 3),
        prompt_tokens_per_s=prompt_rate,
        tokens_per_s=answer_rate or rate(reply.tokens_out, seconds),
        ok=ok,
    )


class Tally:
    """Usage of one propose() call, summed over its model calls."""

    def __init__(self, start: Usage | None = None) -> None:
        self.usage = start or Usage()
        self._paid_seconds = (
            self.usage.tokens_out / self.usage.tokens_per_s if self.usage.tokens_per_s else 0.0
        )

    def add(
        self,
        reply: LLMReply | None,
        cost: float,
        seconds: float,
        cached: bool,
        *,
        kind: str = "propose",
    ) -> None:
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
            tokens_per_s=rate(tokens_out, self._paid_seconds),
            per_call=(
                *u.per_call,
                call_stat(kind, reply, seconds, cached=cached, ok=reply is not None),
            ),
        )
