"""Who needs to know that an integration changed: the webhook path and the worker cache
integration rows, and must drop them at once when a person edits, disables, rotates or
deletes. In one process a callback does it; on PostgreSQL the change is also sent with
NOTIFY (`store/notify.py`) so other `jira-sync serve` / `worker` processes hear it."""
from __future__ import annotations

import time
from typing import Callable

from ..store import integrations as integration_store
from ..store.db import Engine, read
from ..store.integrations import IntegrationRow


class IntegrationChanges:
    def __init__(self) -> None:
        self._listeners: list[Callable[[int], None]] = []

    def subscribe(self, listener: Callable[[int], None]) -> None:
        self._listeners.append(listener)

    def notify(self, integration_id: int) -> None:
        """Called after a change commits (and for NOTIFYs from other processes: harmless when
        it is our own, it only drops a cache)."""
        for listener in self._listeners:
            listener(integration_id)


class IntegrationRows:
    """Integration rows as the webhook path and the worker use them: cached until a change
    notice (`forget`), re-read after `ttl` seconds as a safety net for changes no notice
    reaches (SQLite edited from another process, e.g. `jira-sync integrations apply`)."""

    def __init__(self, engine: Engine, ttl: float = 2.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._rows: dict[int, tuple[float, IntegrationRow]] = {}  # id -> (read at, row)
        self._forgets = 0  # how many changes have been heard (see get_many)

    def forget(self, integration_id: int) -> None:
        self._rows.pop(integration_id, None)
        self._forgets += 1

    async def get(self, integration_id: int) -> IntegrationRow | None:
        return (await self.get_many({integration_id})).get(integration_id)

    async def get_many(self, ids: set[int]) -> dict[int, IntegrationRow]:
        """The rows of `ids` that exist (one query for all that are not fresh in the cache)."""
        now = time.monotonic()
        stale = {i for i in ids if i not in self._rows or now - self._rows[i][0] >= self.ttl}
        if not stale:
            return {i: self._rows[i][1] for i in ids if i in self._rows}
        # taken before the read: a change heard during it drops cached rows, which this
        # caller still had a moment ago
        cached = {i: self._rows[i][1] for i in ids if i in self._rows and i not in stale}
        heard = self._forgets
        async with read(self.engine) as conn:
            fresh = await integration_store.get_rows(conn, stale)
        if self._forgets == heard:
            # kept only if no change was heard while it was read: a read begun before a change
            # committed (the worker's, say) and kept after it would bring back the old row, and
            # with it, for up to `ttl`, a webhook secret just rotated away
            for i in stale:
                if i in fresh:
                    self._rows[i] = (now, fresh[i])
                else:
                    self._rows.pop(i, None)
        return cached | {i: fresh[i] for i in stale if i in fresh}
