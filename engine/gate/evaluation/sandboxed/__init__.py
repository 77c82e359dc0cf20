"""Code that runs *inside* the sandbox, next to candidate code: a pytest plugin
(:mod:`ratchet_probe`) and the replay script (:mod:`ratchet_replay`).

These modules import nothing from ``engine``: the directory is put on the sandboxed
``PYTHONPATH`` (read-only) and they are imported as top-level modules there. They are part
of the gate (protected paths); their results are read back as untrusted data.
"""

from pathlib import Path

DIR = Path(__file__).resolve().parent
PLUGIN = "ratchet_probe"  # pytest -p name
REPLAY = DIR / "ratchet_replay.py"
SPEC_ENV = "RATCHET_PROBE_SPEC"
