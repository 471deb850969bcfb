"""Structured JSON logs. Lines carry context (request id, clinic, actor, event type), never patient names."""

from __future__ import annotations

import logging
import sys

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _NoCredentials(logging.Filter):
    """At debug level the socket library logs each handshake header, bearer tokens and cookies included:
    those lines never reach the log."""

    SECRET = ("< authorization:", "< cookie:", "> set-cookie:")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message[:20].lower().startswith(self.SECRET)


def configure(level: str = "info") -> None:
    """Floor's own lines and those of the libraries under it (uvicorn, litestar) become JSON on stderr."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*_SHARED, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *_SHARED],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
    ))
    handler.addFilter(_NoCredentials())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "litestar"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
