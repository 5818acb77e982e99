"""Who needs to know that an integration changed: the webhook path and the worker cache
integration rows, and must drop them at once when a person edits, disables, rotates or
deletes. In one process a callback does it; on PostgreSQL the change is also sent with
NOTIFY so other `jira-sync serve` / `worker` processes hear it (`sync/runner.listen`)."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..store import integrations as integration_store

log = logging.getLogger(__name__)

CHANGE_CHANNEL = "jira_sync_integration"


class IntegrationChanges:
    def __init__(self) -> None:
        self._listeners: list[Callable[[int], None]] = []

    def subscribe(self, listener: Callable[[int], None]) -> None:
        self._listeners.append(listener)

    def notify(self, integration_id: int) -> None:
        for listener in self._listeners:
            listener(integration_id)

    def on_notify(self, payload: str) -> None:
        """A NOTIFY from another process (or this one: harmless, it only drops a cache)."""
        try:
            self.notify(int(payload))
        except ValueError:
            log.warning("ignoring malformed integration change notice %r", payload)


async def broadcast(conn: AsyncConnection, integration_id: int) -> None:
    """Tell other processes, when (and only if) the caller's transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(CHANGE_CHANNEL, str(integration_id))))


class IntegrationRows:
    """Integration rows as the webhook path and the worker use them: cached until a change
    notice (`forget`), re-read after `ttl` seconds as a safety net for changes no notice
    reaches (SQLite edited from another process)."""

    def __init__(self, engine: AsyncEngine, ttl: float = 2.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._rows: dict[int, tuple[float, Any]] = {}  # id -> (read at, row)

    def forget(self, integration_id: int) -> None:
        self._rows.pop(integration_id, None)

    async def get(self, integration_id: int) -> Any | None:
        return (await self.get_many({integration_id})).get(integration_id)

    async def get_many(self, ids: set[int]) -> dict[int, Any]:
        """The rows of `ids` that exist (one query for all that are not fresh in the cache)."""
        now = time.monotonic()
        stale = {i for i in ids if i not in self._rows or now - self._rows[i][0] >= self.ttl}
        if stale:
            async with self.engine.connect() as conn:
                fresh = await integration_store.get_rows(conn, stale)
            for i in stale:
                if i in fresh:
                    self._rows[i] = (now, fresh[i])
                else:
                    self._rows.pop(i, None)
        return {i: self._rows[i][1] for i in ids if i in self._rows}
