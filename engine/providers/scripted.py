"""``ScriptedProvider``: replays edit plans. The fake every test uses, and the way a
human hands the gate an exact change (``ratchet run-once --plan FILE``).

Attempt *k* of a cycle gets plan *k* (the last plan repeats when attempts outnumber
plans). Plans come in as :class:`~engine.model.Proposal` values or as plan files
(YAML/JSON, the edit-plan shape) listed in ``options.plans`` relative to the repo.

A plan with a ``question`` stands for a model that finds the goal ambiguous: it is
replayed while the goal has no ``answers``; once the human answered, the question plans
are left out and the others replay as above (so ``plans: [ask.yaml, fix.yaml]`` asks,
then, after the answer, proposes the fix).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.errors import ProviderError
from engine.model import Proposal
from engine.providers.base import ProposalRequest


class ScriptedProvider:
    name = "scripted"
    needs_model = False

    def __init__(self, plans: Sequence[Proposal]) -> None:
        self._plans = tuple(plans)
        self.requests: list[ProposalRequest] = []  # what it was asked, for audits and tests

    @classmethod
    def from_files(cls, paths: Sequence[Path]) -> ScriptedProvider:
        from engine.patching.planfile import load_plan

        return cls([load_plan(p) for p in paths])

    def propose(self, request: ProposalRequest) -> Proposal:
        self.requests.append(request)
        plans = self._plans
        if request.answers:  # answered: the questions have been asked
            plans = tuple(p for p in plans if not p.question) or plans
        if not plans:
            raise ProviderError("the scripted provider has no plans: set options.plans")
        plan = plans[min(request.attempt, len(plans)) - 1]
        return Proposal(
            summary=plan.summary,
            rationale=plan.rationale,
            edits=plan.edits,
            provider=plan.provider or self.name,
            model=plan.model or "script",
            usage=plan.usage,
            question=plan.question,
        )
