"""``guard-env-exfiltration``: new code that takes the whole environment (reject).

The environment holds the secrets of whoever runs the code (API keys, tokens). Reading one
variable (``os.environ["X"]``, ``.get``, ``os.getenv``, ``"X" in os.environ``) is normal;
taking all of them is how they leak. In every changed non-test Python file, a new use of
``os.environ`` / ``os.environb`` (however imported: ``from os import environ as e``) is a
finding when it

- is passed whole to a call (``dict(os.environ)``, ``json.dumps(os.environ)``,
  ``print(os.environ)``, ``str(...)``) or unpacked (``{**os.environ}``, ``f(**os.environ)``);
- is copied or listed (``.copy()``, ``.items()``, ``.keys()``, ``.values()``), iterated
  (``for k in os.environ``, comprehensions), formatted (f-strings, ``%``), returned,
  yielded or bound to another name (an alias hides the rest from this scan);

except when the expression is directly the ``env=`` argument of a call
(``subprocess.run(cmd, env={**os.environ, "X": "1"})``): handing the environment on to a
child process is what ``env=`` is for. Only uses the base did not have count.

Limits: ``getattr(os, "environ")``, ``vars(os)``, ``/proc/self/environ`` and data flow
through an ``env=`` variable built elsewhere are not followed; build child environments
inline in the ``env=`` argument.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from engine.gate.guards.base import FileVersion, Finding, GuardSpec
from engine.gate.guards.pyast import Hit, aliases, new_hits, parse, qualified, source_of

ENV_EXFILTRATION = GuardSpec(
    id="guard-env-exfiltration",
    requirement="no code serialises, copies or iterates the whole environment",
)
_ENVIRON = frozenset({"os.environ", "os.environb", "posix.environ"})
_WHOLE_METHODS = frozenset({"copy", "items", "keys", "values", "__iter__", "__repr__", "__str__"})


def find_env_exfiltration(files: list[FileVersion]) -> list[Finding]:
    """New whole-environment uses in changed non-test Python files."""
    findings = []
    for fv in files:
        if not fv.path.endswith(".py") or fv.new is None or fv.is_test:
            continue
        for hit in new_hits(parse(fv.old), parse(fv.new), _environ_hits):
            findings.append(
                Finding(
                    guard=ENV_EXFILTRATION.id,
                    file=fv.path,
                    line=hit.line,
                    evidence=hit.text,
                    after=hit.key,
                )
            )
    return findings


def _environ_hits(tree: ast.AST) -> Iterator[Hit]:
    names = aliases(tree)
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute):
            continue
        if qualified(node, names) not in _ENVIRON:
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.Attribute):  # os.environ.<attr>
            if parent.attr not in _WHOLE_METHODS:
                continue
            use: ast.AST = parents.get(id(parent), parent)
            how = f"calls os.environ.{parent.attr}()"
        else:
            if parent is None or not _takes_whole(node, parent):
                continue
            use = parent
            how = "uses the whole os.environ"
        if _is_env_argument(use, parents):
            continue
        shown = parents.get(id(use), use) if isinstance(use, ast.keyword) else use
        text = source_of(shown)
        yield Hit(f"environ:{text}", node.lineno, f"{how}: {text[:120]}")


def _takes_whole(node: ast.AST, parent: ast.AST) -> bool:
    """Whether ``parent`` takes the environment ``node`` as a whole (rather than one item,
    a membership test or a method we do not count)."""
    if isinstance(parent, ast.Subscript | ast.Compare):
        return False  # os.environ["X"], "X" in os.environ
    if isinstance(parent, ast.Call):
        return node is not parent.func
    if isinstance(parent, ast.keyword | ast.Starred | ast.Dict | ast.FormattedValue):
        return True
    if isinstance(parent, ast.For | ast.AsyncFor | ast.comprehension):
        return node is parent.iter
    if isinstance(parent, ast.BinOp | ast.Return | ast.Yield | ast.YieldFrom | ast.JoinedStr):
        return True
    if isinstance(parent, ast.Assign | ast.AnnAssign | ast.NamedExpr):
        return node is parent.value
    return isinstance(parent, ast.Tuple | ast.List | ast.Set)


def _is_env_argument(use: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """``use`` (or the dict/call it sits in) is the value of an ``env=`` keyword."""
    node: ast.AST | None = use
    for _ in range(3):  # use, {**use}, dict(use, X=1)
        if node is None:
            return False
        if isinstance(node, ast.keyword):
            return node.arg == "env"
        if not isinstance(node, ast.Dict | ast.Call | ast.keyword | ast.Attribute):
            return False
        node = parents.get(id(node))
    return isinstance(node, ast.keyword) and node.arg == "env"
