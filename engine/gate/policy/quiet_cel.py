"""``cel`` without its interactive shell: the one module that imports the CEL package.

The ``common-expression-language`` package's ``cel/__init__.py`` imports ``cel.cli`` (a REPL
built on prompt_toolkit and rich), which costs more than everything else ``ratchet status``
imports together. The policy only needs the extension module, so :func:`import_cel` imports
the package with a placeholder standing in for ``cel.cli`` and removes the placeholder
afterwards: the package works as usual, and a later ``import cel.cli`` loads the real one.
The policy modules take ``cel`` from here (``from engine.gate.policy.quiet_cel import cel``),
so none of them can import it first by the ordinary route.
"""

from __future__ import annotations

import sys
import types


def import_cel() -> None:
    """Import ``cel`` (once) without ``cel.cli``."""
    if "cel" in sys.modules:
        return
    placeholder = types.ModuleType("cel.cli")
    sys.modules["cel.cli"] = placeholder
    try:
        import cel  # noqa: F401
    finally:
        if sys.modules.get("cel.cli") is placeholder:
            del sys.modules["cel.cli"]
        package = sys.modules.get("cel")
        if package is not None and getattr(package, "cli", None) is placeholder:
            delattr(package, "cli")


import_cel()
import cel  # noqa: E402  (already imported above, without its shell: this only binds it)

__all__ = ["cel"]
