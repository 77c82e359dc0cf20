"""Leave the interpreter once a command is done, without its final teardown.

After the last ``atexit`` handler, CPython still clears every module and frees every
object one by one: 50-95 ms after a ``run-once`` here (libcst, the gate and a baseline's
selection map loaded; 5 ms with :func:`os._exit`), paid by every cycle the daemon runs and
by every fail-fast rejection. :func:`exit_now` does what a normal exit does that anyone
can observe — runs the ``atexit`` handlers (logging's shutdown, temporary directories'
finalizers), flushes standard output and error — then ends the process with the code.

Only when the main thread is alone: with any other thread alive (a daemon thread still
working, a non-daemon one the interpreter would wait for) it returns and the caller exits
the usual way.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def exit_now(code: object) -> None:
    """End the process with ``code`` (a ``SystemExit`` code: None or an int) after the
    ``atexit`` handlers and a flush; returns without doing anything when another thread is
    alive or ``code`` is a message (the usual exit prints it)."""
    if threading.active_count() > 1 or not (code is None or isinstance(code, int)):
        return
    status = code or 0
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: what the normal exit would report
        return
    os._exit(status & 0xFF)
