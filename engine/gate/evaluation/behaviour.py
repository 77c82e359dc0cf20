"""Behaviour preservation: record calls of the changed functions on the baseline, replay
them against the candidate, both in the sandbox.

1. :func:`changed_functions`: module-level functions and methods of module-level classes
   (plain, static, class methods) of non-test ``*.py`` files that exist on both sides and
   whose code differs (compared as ASTs: formatting and comments do not count). Functions
   the candidate adds or removes are not "changed" (API removal is another guard's matter).
2. :meth:`BehaviourCheck.run`: the baseline's test command runs once more (no coverage) in a
   scratch copy of the baseline with the recorder plugin
   (:mod:`engine.gate.evaluation.sandboxed.ratchet_probe`), which keeps up to
   ``max_calls`` distinct calls per function; then the replay script
   (:mod:`...sandboxed.ratchet_replay`) calls the candidate's versions with the recorded
   arguments in a scratch copy of the candidate and compares results, exception types and
   the arguments after the call. The host reads only the recorder's JSON summary (calls
   kept per function, problems), never the pickled calls.
3. The other direction (:mod:`engine.gate.evaluation.riding`): when the candidate's tests
   that reach the change run traced anyway (the full stage by reach), the recorder rides
   on that run, and the replay calls the *baseline's* versions with the candidate's
   recorded calls (``recorded_on``: ``"candidate"``): the same comparison without a test
   run of its own.

Limits (documented in SECURITY.md): only values that pickle are recorded; a call slower
than ``max_call_seconds`` is not recorded; recursive calls record only the outermost; the
replay runs candidate code in-process, so it catches honest mistakes, not code written to
fool it (that is the guards' and the sandbox's job).
"""

from __future__ import annotations

import ast
import json
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.gate.evaluation.diffcov import FileChange
from engine.gate.evaluation.probes.command import TestCommand
from engine.gate.evaluation.rewrites import RewriteCache, primed_copy
from engine.gate.evaluation.sandbox import SandboxRunner
from engine.gate.evaluation.sandboxed import DIR, PLUGIN, REPLAY, SPEC_ENV, on_path
from engine.gate.evaluation.scratch import scratch_copy
from engine.gate.evaluation.scratchroot import scratch_dir
from engine.gate.paths import is_test_file
from engine.model import BehaviourMetrics

MAX_CALLS = 20  # distinct calls recorded per function
MAX_BYTES = 64 * 1024  # pickled arguments (or result) of one call
MAX_TOTAL_BYTES = 8 * 1024 * 1024
MAX_CALL_SECONDS = 1.0
MAX_FUNCTIONS = 50
MAX_SEEN = 2000  # calls of one function looked at (repeats too) before it is unwrapped
CALLS = "calls.pkl"  # the recording (read only inside the sandbox)
SUMMARY = "calls.json"  # its counts and problems: what the host reads
BASELINE, CANDIDATE = "baseline", "candidate"  # whose run recorded the calls


@dataclass(frozen=True, kw_only=True)
class FunctionRef:
    """A changed function: ``id`` is ``path::qualname``; ``module`` its import name when
    ``sys_path`` (repo-relative, "" for the root) is on ``sys.path``."""

    id: str
    file: str
    qualname: str
    module: str
    sys_path: str


def changed_functions(changes: Sequence[FileChange], root: Path) -> list[FunctionRef]:
    """The functions a candidate changed (module doc), at most ``MAX_FUNCTIONS``."""
    out: list[FunctionRef] = []
    for change in changes:
        if change.old is None or change.new is None or change.path != change.old_path:
            continue
        if not change.path.endswith(".py") or is_test_file(change.path):
            continue
        old, new = _functions(change.old), _functions(change.new)
        module, sys_path = module_name(root, change.path)
        for qualname in sorted(old.keys() & new.keys()):
            if old[qualname] != new[qualname]:
                out.append(
                    FunctionRef(
                        id=f"{change.path}::{qualname}",
                        file=change.path,
                        qualname=qualname,
                        module=module,
                        sys_path=sys_path,
                    )
                )
    return out[:MAX_FUNCTIONS]


def _functions(text: str) -> dict[str, str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    defs = (ast.FunctionDef, ast.AsyncFunctionDef)
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, defs):
            found[node.name] = ast.dump(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, defs):
                    found[f"{node.name}.{item.name}"] = ast.dump(item)
    return found


def module_name(root: Path, rel: str) -> tuple[str, str]:
    """(dotted module name, the repo-relative directory that must be on ``sys.path``):
    packages are followed upwards while they have an ``__init__.py``."""
    parts = rel[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    cut = len(parts) - 1
    while cut > 0 and (root / "/".join(parts[:cut]) / "__init__.py").is_file():
        cut -= 1
    return ".".join(parts[cut:]), "/".join(parts[:cut])


@dataclass(frozen=True, kw_only=True)
class Recording:
    """What :meth:`BehaviourCheck.record` kept (the calls themselves stay in ``tmp/out``);
    ``done``: the final metrics when there is nothing to replay."""

    tmp: Path
    functions: tuple[FunctionRef, ...]
    ids: tuple[str, ...]
    untested: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    done: BehaviourMetrics | None = None


@dataclass(frozen=True, kw_only=True)
class BehaviourCheck:
    """Records on the baseline and replays on the candidate, each within ``timeout``."""

    runner: SandboxRunner
    command: TestCommand
    timeout: float
    tests: Sequence[str] = ()  # record with only these node ids / test files (): the suite
    rewrites: RewriteCache | None = None  # pytest's rewritten test modules, kept by content

    def run(
        self, baseline: Path, candidate: Path, functions: Sequence[FunctionRef]
    ) -> BehaviourMetrics:
        with scratch_dir("ratchet-behaviour-") as tmp:
            recorded = self.record(baseline, Path(tmp), functions)
            return self.replay(recorded, candidate)

    def record(
        self,
        baseline: Path,
        tmp: Path,
        functions: Sequence[FunctionRef],
        cancel: threading.Event | None = None,
    ) -> Recording:
        """The first half: record ``functions``' calls on ``baseline`` (its tests run in a
        copy under ``tmp``, which must outlive :meth:`replay`); ``cancel`` stops it."""
        ids = tuple(f.id for f in functions)
        if not functions:
            return Recording(tmp=tmp, functions=(), ids=ids, done=BehaviourMetrics())
        if not self.command.is_pytest:
            done = BehaviourMetrics(
                checked=True,
                functions=ids,
                untested=ids,
                problems=("the test command is not pytest: no calls can be recorded",),
            )
            return Recording(tmp=tmp, functions=tuple(functions), ids=ids, done=done)
        out = tmp / "out"
        out.mkdir(exist_ok=True)
        counts, problems = self._record(baseline, tmp / "base", out, functions, cancel)
        return recording_of(tmp, functions, counts, problems, BASELINE)

    def replay(
        self,
        recorded: Recording,
        checkout: Path,
        cancel: threading.Event | None = None,
        *,
        recorded_on: str = BASELINE,
    ) -> BehaviourMetrics:
        """The second half: replay what :meth:`record` kept against ``checkout`` (the
        candidate; the baseline when ``recorded_on`` is :data:`CANDIDATE`: a recording the
        candidate's traced run made, :mod:`engine.gate.evaluation.riding`); ``cancel``
        stops it."""
        if recorded.done is not None:
            return recorded.done
        summary = self._replay(checkout, recorded.tmp / "cand", recorded.tmp / "out",
                               recorded.functions, cancel, recorded_on)  # fmt: skip
        problems = [*recorded.problems, *(str(p) for p in summary.get("problems", []))]
        return BehaviourMetrics(
            checked=True,
            functions=recorded.ids,
            untested=recorded.untested,
            calls=int(summary.get("calls", 0)),
            diverged=int(summary.get("diverged", 0)),
            first_divergence=str(summary.get("first", ""))[:600],
            problems=tuple(problems[:10]),
            recorded_on=recorded_on,
        )

    def _record(
        self,
        checkout: Path,
        work: Path,
        out: Path,
        functions: Sequence[FunctionRef],
        cancel: threading.Event | None = None,
    ) -> tuple[dict[str, int], list[str]]:
        primed_copy(checkout, work, self.rewrites)
        spec = out / "record.json"
        spec.write_text(json.dumps({"record": record_spec(work, out, functions)}), "utf-8")
        args = self.command.option_args(work) if self.tests else self.command.pytest_args
        argv = [
            sys.executable, "-m", "pytest", *(args or ()),
            *self.command.plugin_args(work, one_process=True),
            "-p", PLUGIN, "-p", "no:cacheprovider", "-q", *self.tests,
        ]  # fmt: skip
        env = self.command.env_in(work)
        env = plugin_env(env, spec)
        result = self.runner.run(
            argv, cwd=work, writable=[out], readable=[DIR], env=env, timeout=self.timeout,
            cancel=cancel,
        )  # fmt: skip
        if result.cancelled:
            return {}, ["the recording run was cancelled"]
        problems = ["the recording run timed out"] if result.timed_out else []
        counts, more = read_summary(out)
        return counts, [*problems, *more]

    def _replay(
        self,
        checkout: Path,
        work: Path,
        out: Path,
        functions: Sequence[FunctionRef],
        cancel: threading.Event | None = None,
        recorded_on: str = BASELINE,
    ) -> dict[str, Any]:
        scratch_copy(checkout, work)
        spec = out / "replay.json"
        wanted = {**record_spec(work, out, functions), "recorded_on": recorded_on}
        spec.write_text(json.dumps(wanted), "utf-8")
        result_file = out / "replay-result.json"
        result = self.runner.run(
            [sys.executable, str(REPLAY), str(spec), str(result_file)],
            cwd=work, writable=[out], readable=[DIR], env=self.command.env_in(work),
            timeout=self.timeout, cancel=cancel,
        )  # fmt: skip
        if result.cancelled:
            return {"calls": 1, "diverged": 1, "first": "the replay was cancelled"}
        try:
            summary: dict[str, Any] = json.loads(result_file.read_text("utf-8"))
            return summary
        except (OSError, ValueError):
            tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-2:])[-200:]
            why = "timed out" if result.timed_out else f"exit {result.returncode}: {tail}"
            # no summary is not "preserved": every replay counts as a divergence
            return {"calls": 1, "diverged": 1, "first": f"the replay did not finish ({why})"}


def record_spec(
    work: Path, out: Path, functions: Sequence[FunctionRef], *, after_collection: bool = False
) -> dict[str, object]:
    """The recorder's part of ``ratchet_probe``'s spec (and the replay's) for a run in
    ``work`` that keeps its calls in ``out``."""
    return {
        "functions": [
            {"id": f.id, "module": f.module, "qualname": f.qualname, "file": str(work / f.file)}
            for f in functions
        ],
        "paths": sorted({str(work / f.sys_path) for f in functions}),
        "out": str(out / CALLS),
        "calls": str(out / CALLS),
        "summary": str(out / SUMMARY),
        "after_collection": after_collection,
        "max_calls": MAX_CALLS,
        "max_bytes": MAX_BYTES,
        "max_total_bytes": MAX_TOTAL_BYTES,
        "max_call_seconds": MAX_CALL_SECONDS,
        "max_seen": MAX_SEEN,
    }


def read_summary(out: Path) -> tuple[dict[str, int], list[str]]:
    """The calls kept per function and the recorder's problems, from the JSON summary it
    wrote beside the recording in ``out`` (the recording itself is never unpickled here)."""
    try:
        data = json.loads((out / SUMMARY).read_text(encoding="utf-8"))
        counts = {str(k): int(v) for k, v in dict(data["counts"]).items()}
        problems = [str(p) for p in data.get("problems", [])][:10]
    except Exception as exc:  # noqa: BLE001 - a missing/garbled recording records nothing
        return {}, [f"no recording ({type(exc).__name__})"]
    if not (out / CALLS).is_file():
        return {}, ["no recording (its calls file is missing)"]
    return counts, problems


def recording_of(
    tmp: Path,
    functions: Sequence[FunctionRef],
    counts: dict[str, int],
    problems: Sequence[str],
    recorded_on: str,
) -> Recording:
    """What a recording in ``tmp/out`` holds: ``done`` when no function has a call."""
    ids = tuple(f.id for f in functions)
    untested = tuple(i for i in ids if not counts.get(i))
    nothing = BehaviourMetrics(
        checked=True, functions=ids, untested=untested, problems=tuple(problems),
        recorded_on=recorded_on,
    )  # fmt: skip
    return Recording(
        tmp=tmp,
        functions=tuple(functions),
        ids=ids,
        untested=untested,
        problems=tuple(problems),
        done=None if len(untested) < len(ids) else nothing,
    )


def plugin_env(env: dict[str, str], spec: Path) -> dict[str, str]:
    """``env`` with ratchet's sandboxed plugin directory first on PYTHONPATH, and the
    spec's path."""
    return {**on_path(env), SPEC_ENV: str(spec)}
