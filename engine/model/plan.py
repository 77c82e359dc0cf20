"""The edit plan: the one contract between any provider and the patcher (see ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.model.editops import EDIT_FORMATS, EDIT_OPS, EditOp

__all__ = ["EDIT_FORMATS", "EDIT_OPS", "CallStat", "Edit", "EditOp", "Proposal", "Usage"]


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One edit op of an edit plan (see ARCHITECTURE.md)."""

    file: str
    op: EditOp
    symbol: str | None = None  # replace/delete: qualified name, e.g. "Parser.parse"
    after: str | None = None  # insert: qualified name to insert after (None: end of file)
    code: str | None = None  # replace/insert/add_import/create/rewrite; patch: a unified diff
    search: str | None = None  # search_replace
    replace: str | None = None  # search_replace


@dataclass(frozen=True, kw_only=True)
class CallStat:
    """One model call of a proposal, as measured (``calls`` of :class:`Usage`).

    ``kind``: ``propose``, ``repair`` or ``review``. ``tokens_cached``: of ``tokens_in``,
    what the server answered from its prefix cache (when it reports it). The rates are
    0 when unknown; ``prompt_seconds`` is the time to the first answer token (streamed)
    or the server's own prompt timing. ``cached``: answered from ratchet's response cache.
    """

    kind: str = "propose"
    tokens_in: int = 0
    tokens_cached: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    prompt_seconds: float = 0.0
    prompt_tokens_per_s: float = 0.0
    tokens_per_s: float = 0.0
    cached: bool = False
    ok: bool = True


@dataclass(frozen=True, kw_only=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cached: int = 0  # calls answered from the local cache
    seconds: float = 0.0
    tokens_cached: int = 0  # of tokens_in, served from the server's prefix cache
    tokens_per_s: float = 0.0  # answer tokens per second over the paid calls (0: unknown)
    per_call: tuple[CallStat, ...] = ()  # each call, in order


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """An edit plan plus where it came from."""

    summary: str
    rationale: str = ""
    edits: tuple[Edit, ...] = ()
    provider: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    # Set when the goal cannot be acted on (ambiguous): the question for the human; the
    # cycle records it instead of guessing (``edits`` are then empty).
    question: str = ""
