"""Structured logs: JSON lines for a log system, readable lines on a terminal.

The code logs through the standard library (`logging.getLogger(__name__)`), and so do uvicorn,
httpx, SQLAlchemy and alembic; structlog's `ProcessorFormatter` renders every record the
same way, with what is bound in context (`bind`, `bound`: integration, incident, issue key,
event id, request id) merged in. `fields` adds a line's own keys (`log.info("webhook", extra=fields(...))`).

LOG_FORMAT: `json` (one object a line: timestamp, level, logger, event, the bound ids),
`console`, or `auto` (console when stderr is a terminal, JSON otherwise: in CI, under
systemd or in a container).
"""
from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.contextvars import (
    bind_contextvars,
    bound_contextvars,
    clear_contextvars,
    merge_contextvars,
    reset_contextvars,
)

__all__ = ["bind", "bound", "clear", "configure", "fields", "reset"]

bind = bind_contextvars
bound = bound_contextvars
clear = clear_contextvars
reset = reset_contextvars

# our keys in a LogRecord's __dict__ (given as `extra`), so the renderer finds them among the record's own
_FIELDS = "_fields"


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a stdlib log call whose line carries its own keys."""
    return {_FIELDS: values}


def _add_fields(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    record = event.get("_record")
    own = getattr(record, _FIELDS, None)
    if own:
        event.update(own)  # the line's own values are newer than what was bound (an issue key just made)
    return event


def _without_none(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None}


def wants_json(fmt: str, stream: Any = None) -> bool:
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return not (isatty and isatty())


def formatter(as_json: bool) -> logging.Formatter:
    pre_chain: list[Any] = [
        merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_fields,
    ]
    if as_json:
        renderer: Any = structlog.processors.JSONRenderer()
        tail: list[Any] = [structlog.processors.format_exc_info]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False, sort_keys=False)
        tail = []
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _without_none, *tail, renderer],
    )


def configure(level: str = "INFO", fmt: str = "auto", stream: Any = None) -> None:
    """One handler on the root logger, for our loggers and every library's alike."""
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(wants_json(fmt, stream)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # what no line shows, not gathered for every record (the logging HOWTO's "Optimization";
    # a webhook's line is on the ingest path)
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # uvicorn's loggers go through the root handler (uvicorn is started with log_config=None)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # httpx logs every request at INFO, with its URL: noise at our volume (the incident history
    # keeps each Jira exchange with secrets removed), shown only at DEBUG (Flashduty's app_key
    # is removed from them: sources/flashduty_api.py). The others are noise at any level.
    logging.getLogger("httpx").setLevel(logging.INFO if root.level <= logging.DEBUG else logging.WARNING)
    for noisy in ("httpcore", "markdown_it", "alembic.runtime.plugins", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
