"""How fast each model endpoint is, measured per call, and the prompt that fits its deadline.

A 6.5k-token prompt at 16 prompt tokens/s and ~1 answer token/s does not fit a 300 s
provider timeout; a 2k-token one does. Each call that splits its time into the prompt
phase and the answer (a streamed answer's first token, or llama.cpp's ``timings``)
teaches :class:`SpeedMemory` the endpoint's rates — an exponentially weighted mean, kept
in ``.ratchet/endpoint-speeds.json`` keyed by provider, endpoint and model — and
:func:`fitting_budget` chooses the context budget so one call (prompt + the answer
expected from what this endpoint usually writes) ends within ``timeouts.provider``.

An endpoint never measured (or not split: a non-streamed call without timings) keeps the
configured budget. Tokens the server answered from its prefix cache are not counted as
prompt work (they cost next to nothing), so a cache hit does not make the endpoint look
faster than it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.providers.statefile import StateFile
from engine.providers.transport import LLMReply
from engine.records.layout import endpoint_speeds_file

WEIGHT = 0.5  # of the newest sample in the running mean
SAFETY = 0.8  # of the timeout a call may plan to use (load varies)
MIN_CONTEXT = 300  # tokens: below this no useful plan is possible; keep the configured floor


@dataclass(frozen=True, kw_only=True)
class EndpointSpeed:
    """Running means for one endpoint: rates in tokens per second (0: not measured)."""

    prompt_tokens_per_s: float = 0.0
    answer_tokens_per_s: float = 0.0
    answer_tokens: float = 0.0  # how long its answers usually are
    samples: int = 0


def rates(reply: LLMReply) -> tuple[float, float]:
    """``(prompt tokens/s, answer tokens/s)`` of one call; 0 where it cannot be split."""
    fresh = max(0, reply.tokens_in - reply.tokens_cached)
    prompt = fresh / reply.prompt_seconds if reply.prompt_seconds > 0 and fresh > 0 else 0.0
    answer = (
        reply.tokens_out / reply.answer_seconds
        if reply.answer_seconds > 0 and reply.tokens_out > 0
        else 0.0
    )
    return round(prompt, 2), round(answer, 2)


class SpeedMemory:
    """The measured speeds per endpoint; a missing or corrupt file is empty."""

    def __init__(self, state_dir: Path | None) -> None:
        self._file = StateFile(endpoint_speeds_file(state_dir) if state_dir else None)

    def get(self, key: str) -> EndpointSpeed | None:
        return _speed(self._file.read().get(key))

    def observe(self, key: str, reply: LLMReply) -> EndpointSpeed | None:
        """Fold one call into the endpoint's means (None: the call taught nothing)."""
        prompt, answer = rates(reply)
        if not prompt and not answer:
            return None
        data = self._file.read()
        old = _speed(data.get(key)) or EndpointSpeed()
        speed = EndpointSpeed(
            prompt_tokens_per_s=_mean(old.prompt_tokens_per_s, prompt),
            answer_tokens_per_s=_mean(old.answer_tokens_per_s, answer),
            answer_tokens=_mean(old.answer_tokens, float(reply.tokens_out) if answer else 0.0),
            samples=old.samples + 1,
        )
        data[key] = asdict(speed)
        self._file.write(data)
        return speed


def _speed(raw: Any) -> EndpointSpeed | None:
    """A stored entry as an :class:`EndpointSpeed` (None: absent, malformed, no samples)."""
    if not isinstance(raw, dict):
        return None
    try:
        speed = EndpointSpeed(**{k: raw[k] for k in EndpointSpeed.__dataclass_fields__ if k in raw})
    except TypeError:
        return None
    return speed if speed.samples > 0 else None


def _mean(old: float, new: float) -> float:
    if not new:
        return old
    return round(new if not old else WEIGHT * new + (1 - WEIGHT) * old, 2)


def fitting_budget(
    speed: EndpointSpeed | None,
    *,
    timeout: float,
    configured: int,
    max_output_tokens: int,
    overhead_tokens: int,
) -> int:
    """The context budget (tokens) for one call to fit ``timeout`` at ``speed``.

    The answer is expected to be as long as this endpoint's answers usually are (at most
    ``max_output_tokens``, at least a quarter of it); the prompt gets the rest of
    ``SAFETY * timeout``, minus ``overhead_tokens`` (system prompt, template, schema).
    Never above ``configured``, never below :data:`MIN_CONTEXT` (or ``configured`` when
    that is smaller): a slow endpoint gets a smaller prompt, not none.
    """
    if speed is None or speed.prompt_tokens_per_s <= 0:
        return configured
    answer_tokens = min(float(max_output_tokens), max(speed.answer_tokens, max_output_tokens / 4))
    answer_seconds = (
        answer_tokens / speed.answer_tokens_per_s if speed.answer_tokens_per_s > 0 else 0.0
    )
    prompt_seconds = SAFETY * timeout - answer_seconds
    fits = int(prompt_seconds * speed.prompt_tokens_per_s) - overhead_tokens
    return max(min(configured, MIN_CONTEXT), min(configured, fits))


def speed_key(provider: str, endpoint: str, model: str) -> str:
    return f"{provider} {endpoint.rstrip('/')} {model}"
