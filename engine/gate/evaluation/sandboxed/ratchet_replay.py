"""Replay recorded calls against the candidate: ``python ratchet_replay.py SPEC OUT``.

Runs inside the sandbox with the candidate checkout as working directory. ``SPEC`` is the
JSON spec of the recording (functions, paths, ``calls`` file, ``max_call_seconds``);
``OUT`` receives a JSON summary::

    {"calls": N, "diverged": N, "first": "...", "replayed": {id: N}, "problems": [...]}

Each call is made on a fresh unpickled copy of its recorded arguments, with a per-call
alarm (``max_call_seconds`` x 10, at least 2 s). A call diverges when it raises where the
baseline returned (or the reverse), raises another exception type, returns a different
value, or leaves its arguments different. ``recorded_on`` (default ``"baseline"``) says
whose calls these are; ``"candidate"``: they were recorded by the candidate's own run and
this runs in a copy of the baseline, so what this call does is the baseline's side (the
messages always say the baseline first). Values are compared with ``==`` first; when that
is not a plain ``True`` (identity equality, NaN, arrays) their pickles are compared.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle  # nosec B403 - reads a recording made by ratchet inside the sandbox
import signal
import sys
from pathlib import Path
from typing import Any

PROTOCOL = 4
MAX_SHOWN = 300


class _Alarm(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Alarm()


def main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    sys.path.insert(0, os.getcwd())
    for entry in spec.get("paths", []):
        if entry not in sys.path:
            sys.path.append(entry)
    recording = pickle.loads(Path(spec["calls"]).read_bytes())  # nosec B301
    limit = max(2.0, 10 * float(spec.get("max_call_seconds", 1.0)))
    signal.signal(signal.SIGALRM, _on_alarm)
    summary: dict[str, Any] = {"calls": 0, "diverged": 0, "first": "", "replayed": {}}
    problems: list[str] = []
    here = "baseline" if spec.get("recorded_on") == "candidate" else "candidate"
    for fn in spec.get("functions", []):
        calls = recording.get("calls", {}).get(fn["id"], [])
        if not calls:
            continue
        try:
            func = _resolve(fn)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{fn['id']}: cannot load the {here}'s version ({exc})")
            continue
        for blob, kind, value, after in calls:
            summary["calls"] += 1
            summary["replayed"][fn["id"]] = summary["replayed"].get(fn["id"], 0) + 1
            why = _replay(func, blob, kind, value, after, limit, here)
            if why:
                summary["diverged"] += 1
                if not summary["first"]:
                    summary["first"] = f"{fn['id']}{_show_args(blob)}: {why}"[: MAX_SHOWN * 2]
    summary["problems"] = problems
    Path(out_path).write_text(json.dumps(summary), encoding="utf-8")
    return 0


def _resolve(fn: dict[str, Any]) -> Any:
    owner: Any = importlib.import_module(fn["module"])
    parts = fn["qualname"].split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    raw = vars(owner)[parts[-1]]
    return getattr(raw, "__func__", raw)  # staticmethod / classmethod: the function itself


def _replay(
    func: Any, blob: bytes, kind: str, value: bytes, after: Any, limit: float, here: str
) -> str:
    """Why the call diverges, or "" when it behaves as recorded; ``here``: whose version
    ``func`` is ("candidate", or "baseline" for a recording the candidate made)."""
    try:
        args, kwargs = pickle.loads(blob)  # nosec B301
    except Exception as exc:  # noqa: BLE001
        return f"the recorded arguments no longer load ({type(exc).__name__}: {exc})"
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        result = func(*args, **kwargs)
    except _Alarm:
        return f"did not return within {limit:g} s" + ("" if here == "candidate" else " (baseline)")
    except BaseException as exc:  # noqa: BLE001 - the exception is the evidence
        got = f"{type(exc).__module__}.{type(exc).__qualname__}"
        if kind == "raise" and got == value.decode():
            return ""
        recorded = f"raised {value.decode()}" if kind == "raise" else f"returned {_show(value)}"
        return _said(here, recorded, f"raised {got}: {_clip(str(exc))}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if kind == "raise":
        return _said(here, f"raised {value.decode()}", f"returned {_clip(repr(result))}")
    if not _same(value, result):
        return _said(here, f"returned {_show(value)}", f"returned {_clip(repr(result))}")
    if after is not None and not _same(after, (args, kwargs)):
        return "the arguments were left different after the call (in-place change)"
    return ""


def _said(here: str, recorded: str, replayed: str) -> str:
    """The two sides of a divergence, the baseline's first."""
    if here == "candidate":
        return f"baseline {recorded}, candidate {replayed}"
    return f"baseline {replayed}, candidate {recorded}"


def _same(expected_blob: bytes, actual: Any) -> bool:
    """Does ``actual`` match the recorded pickle? The same bytes first: a value that does
    not survive a round trip (an exhausted iterator pickles as ``iter(("",))``, a fresh one
    loaded from that as ``iter("")`` at 0) is compared as recorded, not as reloaded."""
    try:
        if pickle.dumps(actual, protocol=PROTOCOL) == expected_blob:
            return True
    except Exception:  # noqa: BLE001, S110 - then as before
        pass
    try:
        expected = pickle.loads(expected_blob)  # nosec B301
    except Exception:  # noqa: BLE001
        return False
    try:
        if (expected == actual) is True:
            return True
    except Exception:  # noqa: BLE001, S110 - fall back to comparing pickles
        pass
    try:
        return pickle.dumps(expected, protocol=PROTOCOL) == pickle.dumps(actual, protocol=PROTOCOL)
    except Exception:  # noqa: BLE001
        return repr(expected) == repr(actual)


def _show(blob: bytes) -> str:
    try:
        return _clip(repr(pickle.loads(blob)))  # nosec B301
    except Exception:  # noqa: BLE001
        return "<unloadable>"


def _show_args(blob: bytes) -> str:
    try:
        args, kwargs = pickle.loads(blob)  # nosec B301
    except Exception:  # noqa: BLE001
        return "(...)"
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return _clip("(" + ", ".join(shown) + ")")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
