"""``yaml`` without the cost of its pure-Python reader's pattern: the one module of the
configuration that imports PyYAML first (``from engine.config.quiet_yaml import yaml``).

Importing PyYAML compiles ``yaml.reader.Reader.NON_PRINTABLE``, a negated character class
reaching U+10FFFF that ``re`` turns into a large bitmap: ~55 M instructions, more than the
rest of the package and about 8% of a ``ratchet status``. Every configuration load parses
with libyaml's loader (``CSafeLoader``), which never uses it; only the pure-Python loader
that rewords a syntax error (``config.yamlpos``) does. :func:`import_yaml` therefore
imports the package while ``re.compile`` builds that one pattern from its complement
(:data:`PRINTABLE_COMPLEMENT`: the same characters, written as the few ranges they are,
~5 M instructions); every other pattern is compiled as usual, and ``re.compile`` is itself
again once the import is done. ``tests/test_config_quiet_yaml.py`` checks, over every code point,
that both patterns match the same characters. When ``yaml`` was imported before (by
anyone), nothing is done.
"""

from __future__ import annotations

import re
import sys
from typing import Any

# exactly as yaml/reader.py writes it (PyYAML 6)
NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
PRINTABLE_COMPLEMENT = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"


def import_yaml() -> None:
    """Import ``yaml`` (once), its reader's pattern built from the complement."""
    if "yaml" in sys.modules:
        return
    real = re.compile

    def compile_(pattern: Any, flags: Any = 0) -> re.Pattern[Any]:
        if flags == 0 and pattern == NON_PRINTABLE:
            return real(PRINTABLE_COMPLEMENT)
        return real(pattern, flags)

    re.compile = compile_
    try:
        import yaml  # noqa: F401
    finally:
        re.compile = real


import_yaml()
import yaml  # noqa: E402  (already imported above: this only binds it)

__all__ = ["yaml"]
