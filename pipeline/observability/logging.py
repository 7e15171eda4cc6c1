"""Structured logging: one JSON object per line, correlation ids from context, redaction always on.

Workers call `configure_logging(settings_level)` once at start-up and wrap each message's handling
in `log_context(correlation_id=..., document_id=...)` (or `bind_event(envelope)`); every log line
written inside carries those ids, so one submission can be followed across stages with a single
query. The redaction filter sits on the handler, so it covers every logger, third-party ones too.
"""

from __future__ import annotations

import contextvars
import json as _json
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from pipeline.observability.redact import redact_value, scrub_text

_CONTEXT: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("docpipe_log_context", default={})  # noqa: B039

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_HANDLER_MARK = "_docpipe_handler"


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add fields (correlation_id, document_id, stage, ...) to every log record written inside."""
    merged = {**_CONTEXT.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind_event(event: Any, **fields: str | None) -> Any:
    """log_context for one envelope: its correlation id, document id and event id."""
    return log_context(correlation_id=getattr(event, "correlation_id", None),
                       document_id=getattr(event, "document_id", None),
                       event_id=getattr(event, "event_id", None), **fields)


def current_context() -> dict[str, str]:
    return dict(_CONTEXT.get())


class RedactionFilter(logging.Filter):
    """Rewrites each record in place: message scrubbed, extras redacted by key, exception text scrubbed.

    The rendered message replaces msg/args so no formatter can re-render the raw arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_docpipe_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the log line
            message = f"{record.msg!r} (unformattable args)"
        record.msg = scrub_text(message)
        record.args = None
        for key in [k for k in vars(record) if k not in _STANDARD and not k.startswith("_docpipe")]:
            setattr(record, key, redact_value(getattr(record, key), key))
        if record.exc_info:
            exc = record.exc_info[1]
            record.exc_text = scrub_text("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_type = type(exc).__name__ if exc is not None else None
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        record._docpipe_redacted = True
        return True


class ContextFilter(logging.Filter):
    """Copies the correlation context onto the record (explicit extras win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, context ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_docpipe") or key in out:
                continue
            out[key] = value
        if record.exc_text:
            out["exception"] = record.exc_text
        elif record.exc_info:  # only when used without the redaction filter
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = record.stack_info
        return _json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human format for terminals; still carries the correlation id."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(corr)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.corr = getattr(record, "correlation_id", "-")
        return super().format(record)


def configure_logging(level: str | int = "INFO", json: bool = True,
                      stream: TextIO | None = None) -> logging.Handler:
    """Install one redacting handler on the root logger (idempotent: replaces the previous one)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # librdkafka and HTTP clients are chatty at INFO; their warnings still come through.
    for noisy in ("kafka", "aiokafka", "urllib3", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
    logging.captureWarnings(True)
    return handler
