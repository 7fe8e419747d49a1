"""JSON logs, one object per line, with the request id. Plumbing, rarely edited.

Written directly to stdout: a QueueHandler/QueueListener was measured *slower* here (the
listener thread competes for the GIL). The access log costs ~15 us per request (~5 %
at 3,600 req/s); set SERVING_ACCESS_LOG=false when a proxy already logs requests.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from asgi_correlation_id import correlation_id

LOGGER_NAME = __name__.rsplit(".", 1)[0]  # "<package>.serving"
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_STANDARD |= {"color_message", "request_id"}  # uvicorn's coloured copy; ours, read above


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line (time, level, logger, message, request id, extras)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or correlation_id.get() or "-",
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> logging.Logger:
    """Send this package's logs as JSON to stdout, once (idempotent across app factories)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(getattr(handler, "serving_json", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler.serving_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """uvicorn's own loggers in the same JSON format (used by the ``serve`` command)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stdout"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
