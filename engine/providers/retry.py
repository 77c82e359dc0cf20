"""The one retry layer around model calls (tenacity). SDK retries are always off.

Only :class:`~engine.errors.ProviderTransient` is retried (429, 5xx, timeouts, connection
errors). The wait before attempt *n+1* is exponential with jitter
(``base * 2**(n-1) + uniform(0, base)``, capped at ``max_wait``), or the server's
retry-after when that is longer, capped at ``retry_after_max`` so a hostile or confused
server cannot park the daemon. Every other error passes straight through.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity

from engine.errors import ConfigError, ConfigIssue, ProviderTransient
from engine.providers.options import number

T = TypeVar("T")
log = logging.getLogger("engine.providers")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry one model call."""

    attempts: int = 4  # total tries, the first included
    base: float = 1.0  # seconds before the first retry (before jitter)
    max_wait: float = 30.0  # cap on the exponential wait
    retry_after_max: float = 60.0  # cap on a server's retry-after

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(_issue("retries", self.attempts, "must be at least 1"))
        for name in ("base", "max_wait", "retry_after_max"):
            if getattr(self, name) < 0:
                raise ConfigError(_issue(name, getattr(self, name), "must not be negative"))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetryPolicy:
        """Read ``retries``, ``backoff_base``, ``backoff_max``, ``retry_after_max``.

        Each is checked at use (:mod:`.options`): ``retries: abc`` is a ConfigError naming
        the field, never a traceback; at most 20 attempts and an hour of waiting.
        """
        return cls(
            attempts=number(options, "retries", cls.attempts, kind=int, minimum=1, maximum=20),
            base=number(options, "backoff_base", cls.base, kind=float, minimum=0, maximum=3600),
            max_wait=number(
                options, "backoff_max", cls.max_wait, kind=float, minimum=0, maximum=3600
            ),
            retry_after_max=number(
                options,
                "retry_after_max",
                cls.retry_after_max,
                kind=float,
                minimum=0,
                maximum=86400,
            ),
        )


def _issue(field: str, value: object, problem: str) -> ConfigIssue:
    return ConfigIssue("directives.yaml", 0, 0, f"provider.options.{field}", f"{value!r} {problem}")


class _Wait(tenacity.wait.wait_base):
    """Exponential backoff with jitter, or the server's retry-after when longer."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy

    def _backoff(self, attempt: int) -> float:
        # Written out rather than tenacity.wait_exponential_jitter, whose parameter names
        # changed in tenacity 9.2 (initial -> multiplier, with a DeprecationWarning).
        try:
            wait = self._policy.base * 2 ** (attempt - 1)
        except OverflowError:
            wait = self._policy.max_wait
        return min(wait + random.uniform(0, self._policy.base), self._policy.max_wait)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = self._backoff(retry_state.attempt_number)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, min(float(retry_after), self._policy.retry_after_max))
        return wait


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    label: str = "model call",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it succeeds, raises a non-transient error, or attempts run out.

    When attempts run out, the last :class:`ProviderTransient` is re-raised with the
    attempt count in its message.
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: attempt %d failed (%s); retrying in %.2fs",
            label,
            state.attempt_number,
            error,
            wait,
        )

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=_Wait(policy),
        retry=tenacity.retry_if_exception_type(ProviderTransient),
        reraise=True,
        sleep=sleep,
        before_sleep=before_sleep,
    )
    try:
        return retrying(fn)
    except ProviderTransient as error:
        if policy.attempts == 1:
            raise
        raise ProviderTransient(
            f"{label} failed after {policy.attempts} attempts: {error}", error.retry_after
        ) from error
