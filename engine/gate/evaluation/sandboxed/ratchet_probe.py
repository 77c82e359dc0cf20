"""ratchet's pytest plugin, loaded with ``-p ratchet_probe`` inside the sandbox.

It reads a JSON spec from the file named by ``RATCHET_PROBE_SPEC`` and does two things:

- ``doctest_modules``: the doctests of these modules (repo-relative paths) are added to the
  session unless the project's own collection already has them: at minimum, the doctests
  of every module a candidate touches run. Their node ids are written to ``added_out``:
  the host counts them apart (a baseline never ran them), and an added doctest whose every
  example is ``+SKIP`` is left out rather than reported skipped. Each added item carries
  ``ratchet_added`` (:data:`ADDED`): the contexts plugin does not measure their coverage,
  which the baseline had no part of either (tomlkit 0.13.3: two lines of ``items.py`` only
  ``api.py``'s doctests run made a comment-only change look like a coverage gain). With
  ``only_doctests`` every other item is deselected (the base's doctests of touched
  modules, run alone).
- ``record``: wraps the named functions before test collection (and rebinds every loaded
  module's own name for them: ``from .utils import f`` ran before the recorder did) and
  records up to ``max_calls`` distinct calls each (pickled arguments; pickled result or the
  exception's type; pickled arguments after the call), skipping calls whose values do not pickle or
  exceed ``max_bytes``, calls slower than ``max_call_seconds``, nested (recursive) calls of
  a function already being recorded, and everything once ``max_total_bytes`` is reached;
  a function that has its ``max_calls``, or has been called ``max_seen`` times, is
  unwrapped again (the original put back where the wrapper was).
  The recording is written to ``record.out`` when the session ends, and beside it, to
  ``record.summary``, the number of calls kept per function and the problems as JSON: the
  host reads only that (a recording made by a candidate's run is the candidate's data,
  never unpickled outside the sandbox). With ``record.after_collection`` the functions
  are wrapped once collection has finished instead (the candidate's traced reaching run,
  whose verdict counts: every conftest and test module has imported the package its own
  way first, and nothing is imported early).

Nothing here may break the run it observes: every failure becomes a line in ``problems``.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pickle  # nosec B403 - the recording is read back only inside the sandbox
import sys
import threading
import time
from pathlib import Path
from typing import Any

PROTOCOL = 4
_state: dict[str, Any] = {"calls": {}, "problems": [], "bytes": 0, "spec": None, "installed": {}}
_local = threading.local()


def _spec() -> dict[str, Any]:
    if _state["spec"] is None:
        try:
            path = os.environ.get("RATCHET_PROBE_SPEC", "")
            _state["spec"] = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError) as exc:
            _state["spec"] = {}
            _state["problems"].append(f"spec unreadable: {exc}")
    spec: dict[str, Any] = _state["spec"]
    return spec


def pytest_configure(config: Any) -> None:
    record = _spec().get("record")
    if record and not record.get("after_collection"):
        _install_all(record)


def pytest_collection_finish(session: Any) -> None:
    record = _spec().get("record")
    if record and record.get("after_collection"):
        _install_all(record)


def _install_all(record: dict[str, Any]) -> None:
    for entry in record.get("paths", []):
        if entry not in sys.path:
            sys.path.append(entry)
    for fn in record.get("functions", []):
        try:
            _install(fn, record)
        except Exception as exc:  # noqa: BLE001 - never break the observed run
            _state["problems"].append(f"{fn.get('id')}: not recorded ({type(exc).__name__}: {exc})")


def _install(fn: dict[str, Any], record: dict[str, Any]) -> None:
    module = importlib.import_module(fn["module"])
    expected = Path(fn["file"]).resolve()
    if Path(getattr(module, "__file__", "") or "").resolve() != expected:
        raise ImportError(f"{fn['module']} imported from {getattr(module, '__file__', None)}")
    parts = fn["qualname"].split(".")
    owner: Any = module
    for part in parts[:-1]:
        owner = getattr(owner, part)
    name = parts[-1]
    raw = vars(owner)[name]
    key = fn["id"]
    if isinstance(raw, staticmethod | classmethod):
        attr = type(raw)(_wrap(raw.__func__, key, record))
        setattr(owner, name, attr)
        _state["installed"][key] = (owner, name, raw, attr, False)
    elif callable(raw):
        wrapped = _wrap(raw, key, record)
        setattr(owner, name, wrapped)
        if owner is module:
            _rebind(raw, wrapped)
        _state["installed"][key] = (owner, name, raw, wrapped, owner is module)
    else:
        raise TypeError(f"{fn['qualname']} is not a function")
    _state["calls"].setdefault(key, [])


def _unwrap(key: str) -> None:
    """Put the original back once ``key`` records no more (its wrapper, still held by a
    caller, passes calls straight through): a hot function pays the recorder for its
    first calls only, not for every call of the run (a verdict's run, with a time limit)."""
    installed = _state["installed"].pop(key, None)
    if installed is None:
        return
    owner, name, raw, attr, rebind = installed
    try:
        if vars(owner).get(name) is attr:
            setattr(owner, name, raw)
        if rebind:
            _rebind(attr, raw)
    except Exception as exc:  # noqa: BLE001 - never break the observed run
        _state["problems"].append(f"{key}: not unwrapped ({type(exc).__name__}: {exc})")


def _rebind(raw: Any, wrapped: Any) -> None:
    """Point every loaded module's own name for ``raw`` at ``wrapped``: a package's
    ``from .utils import f``, run before the recorder (by a conftest's import), would
    otherwise keep calling the unwrapped function (and back, by :func:`_unwrap`)."""
    for other in list(sys.modules.values()):
        try:
            names = [k for k, v in vars(other).items() if v is raw]
        except TypeError:  # a module object without a __dict__
            continue
        for key in names:
            setattr(other, key, wrapped)


def _wrap(func: Any, key: str, record: dict[str, Any]) -> Any:
    max_calls = int(record.get("max_calls", 20))
    max_bytes = int(record.get("max_bytes", 65536))
    max_total = int(record.get("max_total_bytes", 8 << 20))
    slow = float(record.get("max_call_seconds", 1.0))
    max_seen = int(record.get("max_seen", 2000))
    seen: set[bytes] = set()
    observed = [0]  # outermost calls seen, repeats included

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if key not in _state["installed"]:  # recorded enough: a plain call
            return func(*args, **kwargs)
        active = getattr(_local, "active", None)
        if active is None:
            active = _local.active = set()
        if key in active:
            return func(*args, **kwargs)
        calls = _state["calls"][key]
        observed[0] += 1
        if len(calls) >= max_calls or _state["bytes"] >= max_total or observed[0] > max_seen:
            _unwrap(key)
            return func(*args, **kwargs)
        blob = _dumps((args, kwargs), max_bytes)
        if blob is None or blob in seen:
            return func(*args, **kwargs)
        active.add(key)
        start = time.perf_counter()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            if time.perf_counter() - start <= slow:
                _keep(key, seen, blob, "raise", _type_name(exc).encode(), None)
            raise
        finally:
            active.discard(key)
        if time.perf_counter() - start <= slow:
            value = _dumps(result, max_bytes)
            if value is not None:  # a result that does not pickle cannot be compared
                _keep(key, seen, blob, "return", value, _dumps((args, kwargs), max_bytes))
        return result

    return wrapper


def _keep(key: str, seen: set[bytes], blob: bytes, kind: str, value: bytes, after: Any) -> None:
    """One recorded call: (arguments, "return" | "raise", result or exception type name,
    arguments after the call or None)."""
    seen.add(blob)
    _state["calls"][key].append((blob, kind, value, after))
    _state["bytes"] += len(blob) + len(value) + len(after or b"")


def _dumps(value: Any, limit: int) -> bytes | None:
    try:
        blob = pickle.dumps(value, protocol=PROTOCOL)
    except Exception:  # noqa: BLE001 - unpicklable values are skipped
        return None
    return blob if len(blob) <= limit else None


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


ADDED = "ratchet_added"  # the attribute of an added doctest item (ratchet_contexts reads it)


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    wanted = _spec().get("doctest_modules") or []
    if not wanted:
        return
    try:
        from _pytest.doctest import DoctestModule
    except ImportError as exc:
        _state["problems"].append(f"doctests not added: {exc}")
        return
    have = {str(Path(str(i.path)).resolve()) for i in items if type(i).__name__ == "DoctestItem"}
    added: list[str] = []
    for rel in wanted:
        path = Path(rel).resolve()
        if str(path) in have or not path.is_file():
            continue
        try:
            found = list(DoctestModule.from_parent(session, path=path).collect())
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            _state["problems"].append(f"doctests of {rel} not collected: {exc}")
            continue
        found = [i for i in found if not _all_skipped(i)]  # pytest would report a skip
        for item in found:
            setattr(item, ADDED, True)
        items.extend(found)
        added += [i.nodeid for i in found]
    if _spec().get("only_doctests"):
        paths = {str(Path(rel).resolve()) for rel in wanted}
        kept = [i for i in items if _doctest_of(i, paths)]
        gone = [i for i in items if not _doctest_of(i, paths)]
        if gone:
            config.hook.pytest_deselected(items=gone)
        items[:] = kept
    out = _spec().get("added_out")
    if out:
        try:
            Path(out).write_text(json.dumps(added), encoding="utf-8")
        except OSError as exc:
            _state["problems"].append(f"added doctests not listed: {exc}")


def _doctest_of(item: Any, paths: set[str]) -> bool:
    """A doctest item of one of the modules at ``paths``."""
    return type(item).__name__ == "DoctestItem" and str(Path(str(item.path)).resolve()) in paths


def _all_skipped(item: Any) -> bool:
    """A doctest whose every example is ``# doctest: +SKIP`` (pytest reports it skipped)."""
    import doctest

    examples = getattr(getattr(item, "dtest", None), "examples", None) or []
    return bool(examples) and all(e.options.get(doctest.SKIP, False) for e in examples)


def pytest_unconfigure(config: Any) -> None:
    record = _spec().get("record")
    if not record:
        return
    try:
        data = {"calls": _state["calls"], "problems": _state["problems"]}
        Path(record["out"]).write_bytes(pickle.dumps(data, protocol=PROTOCOL))
        if record.get("summary"):
            counts = {str(k): len(v) for k, v in _state["calls"].items()}
            summary = {"counts": counts, "problems": [str(p) for p in _state["problems"]]}
            Path(record["summary"]).write_text(json.dumps(summary), encoding="utf-8")
    except Exception:  # noqa: BLE001, S110 - the host reports a missing recording
        pass
