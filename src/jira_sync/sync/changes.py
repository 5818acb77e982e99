"""Who needs to know that an integration changed: the webhook path and the worker cache
integration rows, and must drop them at once when a person edits, disables, rotates or
deletes. In one process a callback does it; on PostgreSQL the change is also sent with
NOTIFY so other `jira-sync serve` / `worker` processes hear it (`sync/runner.listen`)."""
from __future__ import annotations

import logging
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

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
