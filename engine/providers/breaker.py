"""A circuit breaker per provider endpoint, persisted so a restarted daemon remembers.

States: **closed** (calls go through; transient failures are counted), **open** (after
``threshold`` consecutive transient failures: calls are refused with :class:`CircuitOpen`
without touching the network, for ``cooldown`` seconds), **half-open** (after the
cool-down: one trial call goes through; success closes the circuit, failure opens it for
another cool-down). Only :class:`~engine.errors.ProviderTransient` counts as a failure: a
4xx configuration error says nothing about the provider being down.

The state lives in ``<state_dir>/breaker/<key>.json`` (written atomically); without a
state dir it lives in memory only.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import ProviderError, ProviderTransient
from engine.providers.options import number
from engine.records.layout import breaker_dir

T = TypeVar("T")


class CircuitOpen(ProviderError):
    """The provider failed too often in a row; it is not called until the cool-down ends."""


@dataclass(frozen=True, kw_only=True)
class BreakerPolicy:
    threshold: int = 5  # consecutive transient failures that open the circuit
    cooldown: float = 300.0  # seconds the circuit stays open before a trial call

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> BreakerPolicy:
        """Read ``breaker_threshold`` and ``breaker_cooldown``."""
        return cls(
            threshold=number(
                options, "breaker_threshold", cls.threshold, kind=int, minimum=1, maximum=1000
            ),
            cooldown=number(
                options, "breaker_cooldown", cls.cooldown, kind=float, minimum=0, maximum=86400
            ),
        )


@dataclass(frozen=True, kw_only=True)
class BreakerState:
    failures: int = 0  # consecutive transient failures
    opened_at: float | None = None  # epoch seconds; None while closed
    last_error: str = ""


class CircuitBreaker:
    """Guards calls to one endpoint. ``key`` names it (provider + endpoint + model)."""

    def __init__(
        self,
        key: str,
        policy: BreakerPolicy,
        state_dir: Path | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.policy = policy
        self._clock = clock
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self._path = breaker_dir(state_dir) / f"{digest}.json" if state_dir else None
        self._memory = BreakerState()

    def state(self) -> BreakerState:
        """The persisted state (closed when nothing was recorded or the file is unreadable)."""
        if self._path is None:
            return self._memory
        try:
            data = json.loads(self._path.read_text())
            return BreakerState(
                failures=int(data.get("failures", 0)),
                opened_at=data.get("opened_at"),
                last_error=str(data.get("last_error", "")),
            )
        except (OSError, ValueError, TypeError, AttributeError):
            return BreakerState()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` unless the circuit is open; record its success or transient failure."""
        state = self.state()
        if state.opened_at is not None:
            remaining = state.opened_at + self.policy.cooldown - self._clock()
            if remaining > 0:
                raise CircuitOpen(
                    f"{self.key}: circuit open after {state.failures} consecutive failures "
                    f"(last: {state.last_error}); next try in {remaining:.0f}s"
                )
            # Half-open: this call is the trial.
        try:
            result = fn()
        except ProviderTransient as error:
            failures = state.failures + 1
            opens = failures >= self.policy.threshold
            self._save(
                BreakerState(
                    failures=failures,
                    opened_at=self._clock() if opens else None,
                    last_error=str(error)[:300],
                )
            )
            if opens:
                raise CircuitOpen(
                    f"{self.key}: circuit opened after {failures} consecutive failures; "
                    f"calls resume after {self.policy.cooldown:.0f}s (last: {error})"
                ) from error
            raise
        if state.failures or state.opened_at is not None:
            self._save(BreakerState())
        return result

    def _save(self, state: BreakerState) -> None:
        if self._path is None:
            self._memory = state
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps(
                {
                    "key": self.key,
                    "failures": state.failures,
                    "opened_at": state.opened_at,
                    "last_error": state.last_error,
                }
            )
        )
        os.replace(tmp, self._path)
