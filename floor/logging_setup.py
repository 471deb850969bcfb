"""Structured JSON logs. Lines carry context (request id, clinic, actor, event type), never patient names."""

from __future__ import annotations

import logging
import re
import sys
import threading

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class _NoCredentials(logging.Filter):
    """Tokens, claims and PINs never reach the log, at any level, whatever library writes the line:

    - at debug level the socket library logs each handshake header (bearer tokens and cookies included) and
      every frame's content (a screen's `{"type": "auth", "token": ...}` included): those lines are dropped;
    - uvicorn logs a socket's path with its query (`/live?token=...` when a client puts it there), and the
      handshake's request line at debug: every query value is replaced by `<redacted>`;
    - anything that still looks like `"token": "..."` (or claim, secret) has its value replaced."""

    SECRET = ("< authorization:", "< cookie:", "> set-cookie:")
    #: A frame's content: `< TEXT '...' [12 bytes]`, `> BINARY ...`, continuation frames.
    FRAME = re.compile(r"^[<>] (TEXT|BINARY|CONT)\b")
    QUERY = re.compile(r"([?&][^=&\s\"'#]+=)[^&\s\"'#]+")
    FIELD = re.compile(
        r"""((?<![\w-])["']?(?:token|claim|secret|pin|password)["']?\s*[:=]\s*["']?)[^"'\s,}&]+""", re.IGNORECASE
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message[:20].lower().startswith(self.SECRET) or self.FRAME.match(message):
            return False
        redacted = self.FIELD.sub(r"\1<redacted>", self.QUERY.sub(r"\1<redacted>", message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class LostLines:
    """How many of Floor's own lines could not be written since the process started (/metrics reads it:
    `floor_log_lines_lost_total`)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1


LOST_LINES = LostLines()


class Lines(structlog.PrintLogger):
    """Floor's lines, one `print` each to the file given (stderr). A line that cannot be written (the disk under
    the file stderr goes to is full, an I/O error, stderr closed) is dropped and counted, and what logged it goes
    on: a tap was stored, then answered 500 while the log's disk was full, because the line saying it was
    stored could not be written (an ops review)."""

    def msg(self, message: str) -> None:
        try:
            super().msg(message)
        except (OSError, ValueError):  # ValueError: the file is closed
            LOST_LINES.add()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def configure(level: str = "info") -> None:
    """Floor's own lines and those of the libraries under it (uvicorn, litestar) become JSON on stderr."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*_SHARED, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=lambda *args: Lines(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *_SHARED],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    handler.addFilter(_NoCredentials())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "litestar"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The websockets library's own debug lines are frames and headers (filtered above too): not worth logging.
    logging.getLogger("websockets").setLevel(max(numeric, logging.INFO))
