"""Every service logs one JSON object per line (python-json-logger), with its name and the
trace id of the work in progress (meterline.tracing.TRACE_ID): `configure_logging` for a
process, `logging_config` for the servers that take a dictConfig (uvicorn, granian, faust).

    {"timestamp": "2026-12-06T09:40:01.123+00:00", "level": "INFO", "logger": "stream.sinks.postgres",
     "message": "batch written", "service": "stream", "trace_id": null, "events": 500, ...}

Fields passed with `extra=` become keys of the line.
"""

from __future__ import annotations

import logging
import logging.config

from .tracing import TRACE_ID

__all__ = ["TRAIL_LOGGER", "TraceIdFilter", "configure_logging", "logging_config"]

TRAIL_LOGGER = "meterline.trail"  # one line per sampled event (meterline/tracing.py)


class TraceIdFilter(logging.Filter):
    """Puts the current trace id on each record, unless the call gave one (`extra=`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            record.trace_id = TRACE_ID.get()
        return True


def logging_config(service: str, level: str = "INFO") -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"trace": {"()": "meterline.logs.TraceIdFilter"}},
        "formatters": {"json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "static_fields": {"service": service},
            "timestamp": True,
        }},
        "handlers": {"json": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json",
                              "filters": ["trace"]}},
        "root": {"handlers": ["json"], "level": level},
        # Servers' own loggers (uvicorn, granian) send to the root's handler, not their own.
        "loggers": {name: {"handlers": [], "propagate": True} for name in (
            "uvicorn", "uvicorn.error", "uvicorn.access", "_granian", "granian.access")},
    }


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(service, level))
