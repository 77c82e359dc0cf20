"""The daemon's log: plain lines for a person, one JSON object per line with ``--log-json``.

Structured fields travel in ``extra={"fields": {...}}`` (use :func:`event`), so the same call
renders as ``message key=value`` or as ``{"ts", "level", "msg", ...fields}``. When stderr is not
a terminal (a service, a pipe), the log also goes to ``.ratchet/daemon.log`` (rotated).
Every line passes the redactor (:mod:`engine.redact`) in both formats.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.redact import redact

LOGGER = "engine.daemon"


def event(
    logger: logging.Logger, message: str, level: int = logging.INFO, /, **fields: Any
) -> None:
    logger.log(level, message, extra={"fields": fields})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, default=str, sort_keys=False))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        fields = getattr(record, "fields", {}) or {}
        tail = "".join(f" {key}={_short(value)}" for key, value in fields.items())
        text = f"{stamp} {record.levelname.lower():7} {record.getMessage()}{tail}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return redact(text)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if (" " in text or "\n" in text or not text) else text


def setup_logging(log_file: Path | None, *, json_lines: bool, level: int = logging.INFO) -> None:
    """Configure the daemon's logger (not the root logger): stderr, plus ``log_file`` when
    stderr is not a terminal."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    formatter: logging.Formatter = JsonFormatter() if json_lines else TextFormatter()
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    logger.addHandler(stream)
    if log_file is not None and not sys.stderr.isatty():
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        rotating.setFormatter(JsonFormatter())
        logger.addHandler(rotating)
    # APScheduler logs every job run at INFO: keep only its warnings.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
