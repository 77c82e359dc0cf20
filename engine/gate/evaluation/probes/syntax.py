"""The cheapest stage of the cascade: do the files compile? (``compile()`` only, no execution.)"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def syntax_problems(root: Path, files: Sequence[str]) -> tuple[str, ...]:
    """One ``"path:line: message"`` per file under ``root`` that Python refuses to compile.

    ``compile`` catches more than ``ast.parse`` (``return`` outside a function, ...) and
    honours the file's coding cookie because it is given bytes. Missing files are skipped:
    a deleted file cannot break the build by its syntax.
    """
    problems = []
    for rel in files:
        try:
            source = (root / rel).read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"{rel}: cannot read: {exc.strerror or exc}")
            continue
        try:
            compile(source, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            problems.append(f"{rel}:{exc.lineno or 0}: {type(exc).__name__}: {exc.msg}")
        except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, deep nesting
            problems.append(f"{rel}:0: {type(exc).__name__}: {exc}")
    return tuple(problems)
