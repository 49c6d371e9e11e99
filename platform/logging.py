"""Structured logs: text or one JSON object a line (HELDOUT_LOG_FORMAT), with submission ids.

    from heldout.platform.logging import get_logger, log_context

    log = get_logger(__name__)
    log.info("run finished", extra={"submission_id": 12, "run_id": 40, "status": "scored"})
    with log_context(submission_id=12, run_id=40):
        log.info("collecting outputs")   # carries submission_id and run_id too

Call `configure()` once when a process starts (the worker does; gunicorn uses `GunicornLogger`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from gunicorn import glogging

_context: ContextVar[Mapping[str, Any]] = ContextVar("heldout_log_context", default={})  # noqa: B039

# Attributes every LogRecord has; anything else on a record came from `extra=` or the context.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
_HANDLER_MARK = "_heldout_handler"


def get_logger(name: str) -> logging.Logger:
    """A standard logger; its records carry the fields of the current `log_context`."""
    return logging.getLogger(name)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (submission_id, run_id, ...) to every record logged inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's structured fields: the context first, `extra=` overriding it."""
    fields = dict(_context.get())
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and every structured field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _fields(record)
        if not fields:
            return line
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        head, sep, tail = line.partition("\n")  # keep a traceback below the fields
        return f"{head} {pairs}{sep}{tail}"


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


def formatter(name: str) -> logging.Formatter:
    if name not in FORMATTERS:
        raise ValueError(f"unknown log format {name!r}; use one of {', '.join(FORMATTERS)}")
    return FORMATTERS[name]()


def configure(
    log_format: str | None = None, level: int | str = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Send the root logger to `stream` (stderr) in the configured format; idempotent."""
    if log_format is None:
        from heldout.platform.config import Config

        log_format = str(Config.from_env()["HELDOUT_LOG_FORMAT"])
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


_INVITATION = re.compile(r"/i/[^\s/?\"]+")


def _redact(value: object) -> object:
    return _INVITATION.sub("/i/[redacted]", value) if isinstance(value, str) else value


class RedactInvitations(logging.Filter):
    """Invitation tokens are keys: access logs show `/i/[redacted]`, never the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redact(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) for arg in record.args)
        elif isinstance(record.args, dict):  # gunicorn's access log atoms
            record.args = {key: _redact(value) for key, value in record.args.items()}
        return True


class GunicornLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's `--logger-class`: its error and access logs in our format, ours too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        handler = configure()
        self.access_log.addFilter(RedactInvitations())
        for log in (self.error_log, self.access_log):
            for existing in log.handlers:
                existing.setFormatter(handler.formatter)
