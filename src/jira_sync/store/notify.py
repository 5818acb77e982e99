"""Telling other processes what this one committed (PostgreSQL LISTEN/NOTIFY).

Three channels: queued work (wakes `jira-sync worker` processes at once, instead of at their
next poll), integration changes (every process drops its cached copy of that integration)
and Jira site pauses (every process reloads them: a Retry-After holds them all).
A NOTIFY is sent only if, and when, the transaction that issued it commits. On SQLite there
is one process, and these are no-ops.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

WAKE_CHANNEL = "jira_sync_wakeup"
CHANGE_CHANNEL = "jira_sync_integration"
SITE_CHANNEL = "jira_sync_site"


@functools.cache
def _wake_statement(dialect: str) -> Any:
    return sa.select(sa.func.pg_notify(WAKE_CHANNEL, "")) if dialect == "postgresql" else None


async def wake_workers(conn: AsyncConnection) -> None:
    """Work is queued: tell every worker process, once this transaction commits."""
    statement = _wake_statement(conn.dialect.name)
    if statement is not None:
        await conn.execute(statement)


async def integration_changed(conn: AsyncConnection, integration_id: int) -> None:
    """An integration changed: tell every process, once this transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(CHANGE_CHANNEL, str(integration_id))))


async def site_changed(conn: AsyncConnection) -> None:
    """A Jira site pause began, changed or ended: every process reloads them after the commit."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(SITE_CHANNEL, "")))


async def listen(database_url: str, on_wake: Callable[[], None], on_change: Callable[[int], None],
                 on_site: Callable[[], None] | None = None) -> Any:
    """A dedicated asyncpg connection hearing other processes' commits; `.close()` it when done."""
    import asyncpg

    def changed(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            integration_id = int(payload)
        except ValueError:
            log.warning("ignoring malformed integration change notice %r", payload)
            return
        on_change(integration_id)

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(WAKE_CHANNEL, lambda *_: on_wake())
    await conn.add_listener(CHANGE_CHANNEL, changed)
    if on_site is not None:
        await conn.add_listener(SITE_CHANNEL, lambda *_: on_site())
    return conn
