"""Providers: a name in goals.yaml / directives.yaml -> a Provider (see ``registry``).

Valid names: ``auto``, ``ruff``, ``scripted``, ``gemini``, ``openai_compat``, ``local``.
Model providers are imported lazily (their SDKs are heavy).
"""

from __future__ import annotations

from engine.providers.base import ProposalRequest, Provider
from engine.providers.registry import (
    MODEL_PROVIDERS,
    PROVIDER_NAMES,
    REGISTRY,
    make_model_provider,
    make_provider,
    provider_config_for,
    resolve_name,
)

__all__ = [
    "MODEL_PROVIDERS",
    "PROVIDER_NAMES",
    "REGISTRY",
    "ProposalRequest",
    "Provider",
    "make_model_provider",
    "make_provider",
    "provider_config_for",
    "resolve_name",
]
