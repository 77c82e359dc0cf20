"""Fallback: when the primary model provider is down, ask the configured fallback.

"Down" means the primary raised :class:`~engine.errors.ProviderTransient` (retries
exhausted), :class:`~engine.providers.breaker.CircuitOpen`, or
:class:`~engine.errors.ProviderUnavailable` (no key, SDK or model). A malformed answer, a
4xx configuration error or a reached budget is *not* "down": those propagate, because a
second model would not fix them (and budgets are shared). The fallback is a
``ProviderConfig`` (``directives.provider.fallback``) naming a model provider; the
registry (:mod:`engine.providers.registry`) builds it and does the wrapping.
"""

from __future__ import annotations

import logging

from engine.errors import ProviderTransient, ProviderUnavailable
from engine.model import Proposal
from engine.providers.base import ProposalRequest, Provider, Review, ReviewRequest
from engine.providers.breaker import CircuitOpen

log = logging.getLogger("engine.providers")
DOWN = (ProviderTransient, CircuitOpen, ProviderUnavailable)


class FallbackProvider:
    """Tries ``primary``; on a "down" error, ``fallback`` (whose name the Proposal carries)."""

    needs_model = True

    def __init__(self, primary: Provider, fallback: Provider) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    def propose(self, request: ProposalRequest) -> Proposal:
        try:
            return self.primary.propose(request)
        except DOWN as error:
            log.warning(
                "%s is down (%s); asking fallback %s", self.primary.name, error, self.fallback.name
            )
            try:
                return self.fallback.propose(request)
            except Exception as second:
                second.add_note(f"primary provider {self.primary.name} was down: {error}")
                raise

    @property
    def self_review(self) -> bool:
        return bool(getattr(self.primary, "self_review", False))

    def review(self, ask: ReviewRequest) -> Review:
        """The primary's self-review; the fallback's when the primary is down (or cannot
        review). Neither can: ``ok``, the gate decides."""
        reviewers = [(p.name, getattr(p, "review", None)) for p in (self.primary, self.fallback)]
        available = [(name, review) for name, review in reviewers if review is not None]
        if not available:
            return Review(verdict="ok", reason="no provider here reviews", usage=ask.spent)
        *first, (_, last) = available
        for name, review in first:
            try:
                return review(ask)
            except DOWN as error:
                log.warning("%s is down for the self-review (%s)", name, error)
        return last(ask)
