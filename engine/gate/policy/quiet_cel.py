"""``import cel`` without its interactive shell.

The ``common-expression-language`` package's ``cel/__init__.py`` imports ``cel.cli`` (a REPL
built on prompt_toolkit and rich), which costs more than everything else ``ratchet status``
imports together. The policy only needs the extension module, so :func:`import_cel` imports
the package with a placeholder standing in for ``cel.cli`` and removes the placeholder
afterwards: the package works as usual, and a later ``import cel.cli`` loads the real one.
Importing this module does it; ``engine/gate/policy/__init__.py`` imports it before any
module that does ``import cel``.
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
