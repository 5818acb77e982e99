"""Structured logs: JSON lines for a log system, readable lines on a terminal.

The code logs through the standard library (`logging.getLogger(__name__)`), and so do uvicorn,
httpx, SQLAlchemy and alembic; one handler on the root logger renders every record the same
way, with what is bound in context (`bind`, `bound`: integration, incident, issue key,
event id, request id) merged in: `JsonLines` for a log system, structlog's `ConsoleRenderer`
for a person. `fields` adds a line's own keys (`log.info("webhook", extra=fields(...))`).

LOG_FORMAT: `json` (one object a line: timestamp, level, logger, event, the bound ids),
`console`, or `auto` (console when stderr is a terminal, JSON otherwise: in CI, under
systemd or in a container).
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import json
import logging
import sys
from typing import Any, Iterator

import orjson
import structlog

__all__ = ["bind", "bound", "clear", "configure", "fields", "reset"]

# What is bound for the lines of a request or a reconcile: one immutable dict in one context
# variable (structlog's contextvars keep one variable per key and find them by scanning the
# whole context on every line).
_bound: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("jira_sync_log_context", default={})
Token = contextvars.Token


def bind(**values: Any) -> Token[dict[str, Any]]:
    """Add keys to every later line of this context; `reset(token)` takes them away again."""
    return _bound.set({**_bound.get(), **values})


def reset(token: Token[dict[str, Any]]) -> None:
    _bound.reset(token)


@contextlib.contextmanager
def bound(**values: Any) -> Iterator[None]:
    token = bind(**values)
    try:
        yield
    finally:
        reset(token)


def clear() -> None:
    _bound.set({})


# our keys in a LogRecord's __dict__ (given as `extra`), so the renderer finds them among the record's own
_FIELDS = "_fields"


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a stdlib log call whose line carries its own keys."""
    return {_FIELDS: values}


def _merge_bound(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in _bound.get().items():
        event.setdefault(key, value)
    return event


def _add_fields(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    record = event.get("_record")
    own = getattr(record, _FIELDS, None)
    if own:
        event.update(own)  # the line's own values are newer than what was bound (an issue key just made)
    return event


def _without_none(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None}


class JsonLines(logging.Formatter):
    """One JSON object a line: event, level, logger, timestamp (ISO 8601, UTC), what is bound,
    the line's own fields, the traceback as `exception`; keys whose value is None left out.

    Written out rather than as structlog's processor chain, which the console keeps: every
    webhook has a line, and the chain cost ~40 µs of it in the service, a sixth of a webhook's
    CPU (bench/run.py --storm); this is a few µs."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"event": record.getMessage(), **_bound.get()}
        line["level"] = _LEVELS.get(record.levelno) or record.levelname.lower()
        line["logger"] = record.name
        line["timestamp"] = datetime.datetime.fromtimestamp(record.created, datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")
        own = getattr(record, _FIELDS, None)
        if own:
            line.update(own)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = record.stack_info
        line = {k: v for k, v in line.items() if v is not None}
        try:
            return orjson.dumps(line, default=repr).decode()
        except TypeError:  # what orjson refuses (non-str keys, integers past 64 bits, lone surrogates)
            return json.dumps(line, default=repr)


_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error",
           logging.CRITICAL: "critical"}


def wants_json(fmt: str, stream: Any = None) -> bool:
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return not (isatty and isatty())


def formatter(as_json: bool) -> logging.Formatter:
    if as_json:
        return JsonLines()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            _merge_bound,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_fields,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _without_none,
                    structlog.dev.ConsoleRenderer(colors=False, sort_keys=False)],
    )


class LoopFlushedHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that flushes lines logged on an event loop once per turn of that loop:
    the webhooks answered in one turn (a group commit settles dozens) share one write(2). Lines
    from any other thread, or with no loop running, are flushed at once. A kill -9 can lose the
    lines of the turn it interrupts, less than a millisecond of them; nothing else is held."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a flush is scheduled on

    def flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and self._flush_on is None:
            self._flush_on = loop
            loop.call_soon(self._flush_now)
        elif loop is None or loop is not self._flush_on:  # another thread, or that loop went away
            self._flush_now()

    def _flush_now(self) -> None:
        self._flush_on = None
        super().flush()


def _block_buffered(stream: Any) -> Any:
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (captured by a test runner)
        return stream
    return open(fd, "w", buffering=1 << 16, encoding=getattr(stream, "encoding", None) or "utf-8",
                errors="backslashreplace", closefd=False)


def configure(level: str = "INFO", fmt: str = "auto", stream: Any = None) -> None:
    """One handler on the root logger, for our loggers and every library's alike."""
    as_json = wants_json(fmt, stream)
    if stream is None:
        # stderr is line-buffered: a write(2) for every line. Lines for a log system go through
        # a block buffer of their own, flushed once per turn of the event loop.
        stream = _block_buffered(sys.stderr) if as_json else sys.stderr
    handler = LoopFlushedHandler(stream)
    handler.setFormatter(formatter(as_json))
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
