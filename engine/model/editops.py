"""The edit plan's vocabulary: its ops and the edit formats that offer them (a module of
its own so that the configuration's checks read it without defining the plan's types)."""

from __future__ import annotations

from typing import Literal

EditOp = Literal[
    "replace", "insert", "delete", "add_import", "create", "search_replace", "patch", "rewrite"
]
EDIT_OPS: tuple[str, ...] = (
    "replace",
    "insert",
    "delete",
    "add_import",
    "create",
    "search_replace",
    "patch",
    "rewrite",
)
# The edit formats a model can be asked to answer in (provider option ``edit_format``):
# the ops each one offers (``rewrite`` is for formatters, never offered to a model).
# ``all`` offers every op; ``auto`` picks per provider class (docs/providers.md).
EDIT_FORMATS: dict[str, tuple[str, ...]] = {
    "all": ("replace", "insert", "delete", "add_import", "create", "search_replace", "patch"),
    "replace": ("replace", "insert", "delete", "add_import", "create"),
    "search_replace": ("search_replace", "add_import", "create"),
    "patch": ("patch", "create"),
}
