"""Index Python files with ``ast``: symbols, signatures, source spans, rough complexity.

Qualified names follow ``engine.patching.symbols``: ``func``, ``Class``,
``Class.method``, ``Outer.Inner.method``; functions are leaves, and only direct children
of the module or of a class body count. Pure functions over source text: nothing here
reads the disk. A file that does not parse indexes as empty with its error recorded.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass

_BRANCHES = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Try,
    ast.With,
    ast.AsyncWith,
    ast.BoolOp,
    ast.IfExp,
    ast.comprehension,
    ast.ExceptHandler,
    ast.match_case,
    ast.Assert,
)


@dataclass(frozen=True, kw_only=True)
class Symbol:
    """One function or class of a file."""

    file: str
    qualname: str
    kind: str  # "function" | "class"
    signature: str  # "def parse(self, argv: list[str]) -> Args" / "class Parser(Base)"
    doc: str  # first line of the docstring, "" when none
    start: int  # 1-based first line (decorators included)
    end: int  # 1-based last line
    depth: int  # enclosing classes
    complexity: int  # 1 + branch points: a cheap stand-in for cyclomatic complexity

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


@dataclass(frozen=True, kw_only=True)
class FileIndex:
    file: str
    text: str
    symbols: tuple[Symbol, ...] = ()
    error: str = ""  # why it did not parse

    def source(self, symbol: Symbol) -> str:
        """The symbol's source lines, exactly as in the file."""
        lines = self.text.splitlines()
        return "\n".join(lines[symbol.start - 1 : symbol.end])

    def outline(self, *, docs: bool = True) -> str:
        """Signatures indented by nesting: the file's entry in the repo map."""
        out = []
        for s in self.symbols:
            doc = f"  # {s.doc}" if docs and s.doc else ""
            out.append(f"{'  ' * (s.depth + 1)}{s.signature}{doc}")
        return "\n".join(out)


@functools.lru_cache(maxsize=4096)
def index_source(file: str, text: str) -> FileIndex:
    """Index ``text`` (the content of ``file``); never raises on bad source. Kept per
    content: a cycle's planner ranks the files its prompt context then outlines (the
    result is frozen, so sharing it is safe)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as error:
        return FileIndex(file=file, text=text, error=f"{type(error).__name__}: {error}")
    return FileIndex(file=file, text=text, symbols=tuple(_walk(file, tree.body, "", 0)))


def _walk(file: str, body: list[ast.stmt], prefix: str, depth: int) -> Iterator[Symbol]:
    for node in body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        qualname = f"{prefix}{node.name}"
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        yield Symbol(
            file=file,
            qualname=qualname,
            kind="class" if isinstance(node, ast.ClassDef) else "function",
            signature=signature(node),
            doc=_first_doc_line(node),
            start=start,
            end=node.end_lineno or node.lineno,
            depth=depth,
            complexity=1 + sum(isinstance(n, _BRANCHES) for n in ast.walk(node)),
        )
        if isinstance(node, ast.ClassDef):
            yield from _walk(file, node.body, f"{qualname}.", depth + 1)


def signature(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """``def f(a: int = 1) -> str`` / ``class C(Base)`` rebuilt from the AST."""
    if isinstance(node, ast.ClassDef):
        bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
        return f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _first_doc_line(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    doc = ast.get_docstring(node) or ""
    return doc.strip().splitlines()[0][:100] if doc.strip() else ""


def collect_tests(file: str, text: str) -> list[tuple[str, str]]:
    """``(node id, source)`` of the ``test*`` functions of a test file (methods too)."""
    index = index_source(file, text)
    out = []
    for s in index.symbols:
        if s.kind == "function" and s.name.startswith("test"):
            out.append((f"{file}::{s.qualname.replace('.', '::')}", index.source(s)))
    return out
