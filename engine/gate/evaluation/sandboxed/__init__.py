"""Code that runs *inside* the sandbox, next to candidate code: a pytest plugin
(:mod:`ratchet_probe`), the replay script (:mod:`ratchet_replay`), the per-test
coverage contexts (:mod:`ratchet_contexts`, plugin and script), the flaky re-runs in a
fork of the session (:mod:`ratchet_rerun`) and a time limit on each test
(:mod:`ratchet_watchdog`).

These modules import nothing from ``engine``: the directory is put on the sandboxed
``PYTHONPATH`` (read-only) and they are imported as top-level modules there. They are part
of the gate (protected paths); their results are read back as untrusted data.
"""

from collections.abc import Mapping
from pathlib import Path

DIR = Path(__file__).resolve().parent
PLUGIN = "ratchet_probe"  # pytest -p name
CONTEXTS_PLUGIN = "ratchet_contexts"  # pytest -p name; also a script (the selection map)
CONTEXTS = DIR / "ratchet_contexts.py"
CONTEXTS_REPORT_ENV = "RATCHET_CONTEXTS_REPORT"  # the plugin writes the report and map too
CONTEXTS_KEEP_ENV = "RATCHET_CONTEXTS_KEEP"  # the plugin runs only these of the collection
CONTEXTS_STOP_ENV = "RATCHET_CONTEXTS_STOP"  # the plugin's fail-fast, past known failures
RERUN_PLUGIN = "ratchet_rerun"  # pytest -p name: flaky re-runs in a fork of the session
RERUN_ENV = "RATCHET_RERUN"  # its spec
WATCHDOG_PLUGIN = "ratchet_watchdog"  # pytest -p name: a limit on each test's time
WATCHDOG_ENV = "RATCHET_WATCHDOG"  # its spec
REPLAY = DIR / "ratchet_replay.py"
SPEC_ENV = "RATCHET_PROBE_SPEC"


def on_path(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with :data:`DIR` first on ``PYTHONPATH`` (once, however many plugins of
    this directory a run loads); the sandbox must also be given ``DIR`` to read."""
    path = env.get("PYTHONPATH", "")
    if str(DIR) in path.split(":"):
        return dict(env)
    return {**env, "PYTHONPATH": f"{DIR}:{path}" if path else str(DIR)}
