"""Turn a model's text into a validated edit plan, or say precisely what is wrong with it.

:func:`parse_answer` is pure: it returns a :class:`~engine.model.Proposal` or an
:class:`AnswerProblem` (never raises on bad model output). Checks, in order:

1. the text holds a JSON object (the whole text, a fenced block, or the first object),
   read non-strictly (raw newlines in strings) and, when that fails, leniently through
   json-repair — a lenient reading is kept only if it is a valid plan (:mod:`.extract`);
   otherwise the problem quotes the parse error and its position;
2. the object has the edit-plan shape (``engine.patching.planfile.plan_from_data``);
3. every edit names a file in scope — or ``create``\\ s a new file the goal's scope allows;
4. ``replace``/``delete`` name a symbol the file defines, ``insert`` an existing ``after``;
5. Python code parses (``search_replace`` and ``patch`` are applied in memory and the
   result parsed), ``replace`` code is one def/class and ``add_import`` code only
   imports (as the patcher requires), and the summary is not the prompt's placeholder.

The problem text is written for the model: it is fed back verbatim in the repair round.
"""

from __future__ import annotations

import ast
import difflib
import logging
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.gate.paths import check_path, in_scope
from engine.model import Edit, Proposal
from engine.patching.planfile import plan_from_data
from engine.patching.unidiff import PatchProblem, apply_patch
from engine.providers.base import ProposalRequest
from engine.providers.extract import extract_json, parse_error, repair_json

__all__ = ["AnswerProblem", "extract_json", "parse_answer"]
log = logging.getLogger("engine.providers")
_CODE_OPS = ("replace", "insert", "create", "rewrite", "add_import")


@dataclass(frozen=True)
class AnswerProblem:
    """Why an answer cannot be used, in words the model can act on."""

    message: str


def parse_answer(
    text: str,
    request: ProposalRequest,
    symbols: dict[str, tuple[str, ...]],
    *,
    source: str,
) -> Proposal | AnswerProblem:
    """Validate ``text`` against ``request`` (see module docstring for the checks)."""
    data = extract_json(text)
    problem: AnswerProblem | None = None
    proposal: Proposal | None = None
    if data is not None:
        try:
            proposal = plan_from_data(_normalise(data), source)
        except ConfigError as error:
            problem = AnswerProblem(f"the JSON is not a valid edit plan: {error}")
    if proposal is None:
        # The strict reading found nothing usable: a lenient one counts only as a valid plan.
        lenient = repair_json(text)
        proposal = _plan(lenient, source) if lenient is not None else None
        if proposal is None:
            snippet = text.strip()[:200] or "(empty)"
            return problem or AnswerProblem(
                f"the answer contains no JSON object that parses ({parse_error(text)}); "
                f"it began: {snippet!r}"
            )
        log.info("%s: answer was not valid JSON; read leniently", source)
    if proposal.question:
        return proposal  # the model asks instead of guessing: nothing to check
    summary = proposal.summary.strip()
    if summary.startswith("<") and summary.endswith(">"):
        return AnswerProblem("the summary is the template's placeholder: write a real one")
    problems = [
        f"edit {n} ({edit.op} {edit.file}): {problem}"
        for n, edit in enumerate(proposal.edits, 1)
        for problem in _edit_problems(edit, request, symbols)
    ]
    if problems:
        return AnswerProblem("; ".join(problems))
    return proposal


def _plan(data: dict[str, Any], source: str) -> Proposal | None:
    try:
        return plan_from_data(_normalise(data), source)
    except ConfigError:
        return None


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Drop the null / empty optional fields that schema-constrained models fill in; a
    question with edits is a plan (the question was filler); a summary of several lines
    keeps its first line, the rest goes before the rationale (a plan file's author gets an
    error for it; a model's answer is only reshaped, nothing of it is lost)."""
    if data.get("question") is not None and (data.get("edits") or not data.get("question")):
        data = {k: v for k, v in data.items() if k != "question"}
    summary = data.get("summary")
    if isinstance(summary, str) and "\n" in summary.strip():
        first, _, rest = summary.strip().partition("\n")
        rationale = data.get("rationale")
        more = [rest.strip(), rationale.strip() if isinstance(rationale, str) else ""]
        data = {**data, "summary": first.strip(), "rationale": "\n\n".join(m for m in more if m)}
    edits = data.get("edits")
    if not isinstance(edits, list):
        return data
    cleaned = []
    for edit in edits:
        if isinstance(edit, dict):
            edit = {
                k: v
                for k, v in edit.items()
                if v is not None
                and not (k in ("symbol", "after") and v == "")
                and not (k in ("search", "replace", "code") and v == "" and _unused(k, edit))
            }
        cleaned.append(edit)
    return {**data, "edits": cleaned}


def _unused(key: str, edit: dict[str, Any]) -> bool:
    """An empty string in a field the op does not use is schema filler, not content."""
    op = edit.get("op")
    if key == "code":
        return op in ("delete", "search_replace")
    return op != "search_replace"


def _edit_problems(
    edit: Edit, request: ProposalRequest, symbols: dict[str, tuple[str, ...]]
) -> list[str]:
    bad_path = check_path(edit.file)
    if bad_path:
        return [bad_path]
    if edit.op == "create" and (request.root / edit.file).exists():
        return [f"{edit.file} already exists; use rewrite or a symbol op"]
    if edit.file not in request.files:
        if edit.op != "create":
            shown = ", ".join(request.files[:20])
            return [f"{edit.file} is not in scope; edit only: {shown}"]
        if not in_scope(edit.file, request.goal.scope):
            return [f"creating {edit.file} is outside the goal's scope {list(request.goal.scope)}"]
    problems: list[str] = []
    known = symbols.get(edit.file, ())
    is_python = edit.file.endswith(".py")
    if is_python and edit.op in ("replace", "delete") and edit.symbol not in known:
        problems.append(_missing(edit.symbol or "", edit.file, known))
    if is_python and edit.op == "insert" and edit.after and edit.after not in known:
        problems.append(_missing(edit.after, edit.file, known))
    if is_python and edit.op in _CODE_OPS and edit.code is not None:
        problems.extend(_syntax(edit.code, "code") or _shape(edit.op, edit.code))
    if is_python and edit.op == "search_replace":
        problems.extend(_search_replace(edit, request.root))
    if is_python and edit.op == "patch":
        problems.extend(_patch(edit, request.root))
    return problems


def _missing(name: str, file: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    ordered = close + [k for k in known if k not in close]
    return f"symbol {name!r} is not defined in {file}; it defines: {', '.join(ordered[:15])}"


def _syntax(code: str, what: str) -> list[str]:
    try:
        ast.parse(textwrap.dedent(code))
    except SyntaxError as error:
        return [f"{what} does not parse: {error.msg} at line {error.lineno}: {error.text!r}"]
    except ValueError as error:
        return [f"{what} does not parse: {error}"]
    return []


def _shape(op: str, code: str) -> list[str]:
    """What the patcher would refuse about well-formed code, said before it runs."""
    body = ast.parse(textwrap.dedent(code)).body
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    if op == "replace" and (len(body) != 1 or not isinstance(body[0], definitions)):
        return ["replace code must be exactly one complete def or class statement"]
    if op == "add_import" and not all(isinstance(n, ast.Import | ast.ImportFrom) for n in body):
        return ["add_import code must contain only import statements"]
    return []


def _search_replace(edit: Edit, root: Path) -> list[str]:
    try:
        text = (root / edit.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [f"{edit.file} cannot be read"]
    search = edit.search or ""
    if not search or search not in text:
        return ["the search text does not occur in the file (copy it exactly)"]
    return _syntax(text.replace(search, edit.replace or "", 1), "the file after search_replace")


def _patch(edit: Edit, root: Path) -> list[str]:
    try:
        text = (root / edit.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [f"{edit.file} cannot be read"]
    patched = apply_patch(text, edit.code or "")
    if isinstance(patched, PatchProblem):
        return [f"the patch does not apply: {patched.reason}"]
    return _syntax(patched, "the file after the patch")
