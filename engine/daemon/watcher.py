"""Notices edits of goals.yaml, directives.yaml, rules/ and the control directory.

Editors save by writing a temp file and renaming it over the original, so watching a file's
inode would go deaf after the first save: we watch the parent directories (not recursively)
and match paths, including the destination of moves. Bursts of events are debounced into one
callback; the daemon then compares content hashes (``configuration.config_digest``), so a
save that changes nothing does nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.daemon.configuration import CONFIG_FILES, RULE_SUFFIXES, RULES_DIR


class Debouncer:
    """Calls ``fn`` once, ``delay`` seconds after the last of a burst of :meth:`poke` calls."""

    def __init__(self, fn: Callable[[], None], delay: float) -> None:
        self.fn = fn
        self.delay = delay
        self._deadline: float | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="debounce", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        with self._cond:
            self._deadline = time.monotonic() + self.delay
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and self._deadline is None:
                    self._cond.wait()
                if self._closed:
                    return
                assert self._deadline is not None
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._deadline = None
            self.fn()


class ConfigWatcher:
    """Watches ``repo`` (for goals.yaml, directives.yaml, rules/), ``repo/rules`` and
    ``control``; calls ``on_config`` or ``on_control`` after a quiet period of ``debounce``
    seconds (control requests use a tenth of it: they are one small file)."""

    def __init__(
        self,
        repo: Path,
        control: Path,
        on_config: Callable[[], None],
        on_control: Callable[[], None],
        debounce: float = 0.25,
    ) -> None:
        self.repo = repo
        self.control = control
        self._config = Debouncer(on_config, debounce)
        self._control = Debouncer(on_control, debounce / 10)
        self._observer: Any = None
        self._rules_watch: Any = None
        self._lock = threading.Lock()

    def start(self) -> None:
        from watchdog.observers import Observer  # lazy: keep `ratchet --help` fast

        self.control.mkdir(parents=True, exist_ok=True)
        self._config.start()
        self._control.start()
        observer: Any = Observer()
        handler = _Handler(self._on_event)
        observer.schedule(handler, str(self.repo), recursive=False)
        observer.schedule(handler, str(self.control), recursive=False)
        self._observer = observer
        self._handler = handler
        self._watch_rules()
        observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        self._config.close()
        self._control.close()

    def _watch_rules(self) -> None:
        """(Re)watch rules/ when it appears; it may be created or replaced after start."""
        with self._lock:
            rules = self.repo / RULES_DIR
            if self._observer is None:
                return
            if self._rules_watch is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._observer.unschedule(self._rules_watch)
                self._rules_watch = None
            if rules.is_dir():
                try:
                    self._rules_watch = self._observer.schedule(
                        self._handler, str(rules), recursive=False
                    )
                except OSError:
                    self._rules_watch = None

    def _on_event(self, paths: list[Path], is_dir_event: bool) -> None:
        for path in paths:
            parent = path.parent
            if parent == self.control:
                self._control.poke()
            elif parent == self.repo and path.name in CONFIG_FILES:
                self._config.poke()
            elif parent == self.repo and path.name == RULES_DIR:
                self._watch_rules()
                self._config.poke()
            elif parent == self.repo / RULES_DIR and (path.suffix in RULE_SUFFIXES or is_dir_event):
                self._config.poke()


class _Handler:
    """A watchdog handler (duck-typed: ``dispatch`` is all the observer calls)."""

    def __init__(self, callback: Callable[[list[Path], bool], None]) -> None:
        self.callback = callback

    def dispatch(self, event: Any) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads: editors and our own loader open these files all the time
        paths = [_as_path(event.src_path)]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(_as_path(dest))
        self.callback(paths, bool(event.is_directory))


def _as_path(raw: str | bytes) -> Path:
    return Path(raw.decode() if isinstance(raw, bytes) else raw)
