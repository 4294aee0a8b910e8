"""JSON logging with PHI redaction at one exit point.

Every service logs through the standard library; `configure_logging` installs a single
handler whose formatter is the only place a record becomes text. Redaction happens there, so
no code path (ours or a library's, a message, an argument, an ``extra`` field or a traceback)
can write PHI around it. Each line also carries the service, the current trace and span ids,
and the fields bound for the current request (`log_context`), so logs join traces in Grafana.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

from voiceassist_common.phi import SafeText, redact_structure, redact_text, redact_value, safe

__all__ = ["JsonFormatter", "bind_log_context", "configure_logging", "log_context", "safe"]

_context: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "voiceassist_log_context", default=None
)


def _bound() -> Mapping[str, str]:
    return _context.get() or {}


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)

# Keys the formatter itself writes (an ``extra`` field may not overwrite them), and keys
# libraries add that only repeat the message (uvicorn's terminal-coloured copy).
_RESERVED = frozenset(
    {
        "timestamp",
        "level",
        "logger",
        "service",
        "message",
        "trace_id",
        "span_id",
        "exception",
        "color_message",
    }
)


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add ``fields`` (e.g. ``request_id``) to every log line written inside the block."""
    token = _context.set({**_bound(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**fields: str) -> None:
    """Add ``fields`` to every later log line of the current task or request."""
    _context.set({**_bound(), **fields})


def _render_message(record: logging.LogRecord) -> str:
    """Render ``msg % args`` with every argument redacted unless it was marked safe."""
    message = record.msg if isinstance(record.msg, str) else str(record.msg)
    if not record.args:
        return redact_text(message)
    args: Any = record.args
    values = list(args.values()) if isinstance(args, Mapping) else list(args)
    if isinstance(args, Mapping):
        redacted: Any = {key: _redact_argument(value) for key, value in args.items()}
    else:
        redacted = tuple(_redact_argument(value) for value in args)
    try:
        rendered: str = message % redacted
    except (TypeError, ValueError, KeyError):
        rendered = f"{message} {redacted!r}"
    # Arguments are redacted one by one above. The whole line is scrubbed again because the
    # format string may itself be an f-string with PHI in it, unless a developer marked an
    # argument safe: then scrubbing the line would undo that decision.
    if any(isinstance(value, SafeText) for value in values):
        return rendered
    return redact_text(rendered)


def _redact_argument(value: Any) -> Any:
    if isinstance(value, SafeText):
        return value
    if isinstance(value, bool | int | float) or value is None:
        return value
    return redact_structure(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line, after redacting PHI."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self._service = service_name

    def format(self, record: logging.LogRecord) -> str:
        """Return the redacted JSON line for ``record``."""
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "service": self._service,
            "message": _render_message(record),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            line["trace_id"] = format(span_context.trace_id, "032x")
            line["span_id"] = format(span_context.span_id, "016x")
        for key, value in _bound().items():
            if key not in _RESERVED:
                line[key] = redact_value(key, value)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in _RESERVED and not key.startswith("_"):
                line[key] = redact_value(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            line["exception"] = redact_text(text)
        elif record.stack_info:
            line["exception"] = redact_text(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(service_name: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route every logger of the process through one redacting JSON handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(service_name))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that install their own handlers would bypass the redactor; send them to root.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "nats", "grpc"):
        library_logger = logging.getLogger(name)
        library_logger.handlers.clear()
        library_logger.propagate = True
    logging.captureWarnings(True)
