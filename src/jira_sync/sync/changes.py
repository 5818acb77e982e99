"""Who needs to know that an integration changed: the webhook path and the worker cache
integration rows, and must drop them at once when a person edits, disables, rotates or
deletes. In one process a callback does it; on PostgreSQL the change is also sent with
NOTIFY (`store/notify.py`) so other `jira-sync serve` / `worker` processes hear it."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from ..store import integrations as integration_store
from ..store.db import Engine, read
from ..store.integrations import IntegrationRow

log = logging.getLogger(__name__)


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
    reaches (SQLite edited from another process, e.g. `jira-sync integrations apply`).

    A row past its `ttl` is still answered while one read in the background replaces it (so a
    change no notice reaches is seen within `ttl` plus one read): at 300 webhooks a second,
    waiting for that read made every delivery in flight start a read of its own, each taking a
    pooled connection, and the answers stalled for 100-600 ms every `ttl` (measured on
    PostgreSQL). A row the cache does not have (never read, or dropped by `forget`) is read
    before answering, once for all callers that ask meanwhile."""

    STALE_FOR = 4  # a row older than this many `ttl`s (its refreshes failing) is not answered unread

    def __init__(self, engine: Engine, ttl: float = 2.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._rows: dict[int, tuple[float, IntegrationRow]] = {}  # id -> (read at, row)
        self._forgets = 0  # how many changes have been heard (see _read)
        # reads under way: id -> (changes heard when it began, its answer)
        self._reading: dict[int, tuple[int, asyncio.Future[dict[int, IntegrationRow]]]] = {}

    def forget(self, integration_id: int) -> None:
        self._rows.pop(integration_id, None)
        self._forgets += 1

    async def get(self, integration_id: int) -> IntegrationRow | None:
        return (await self.get_many({integration_id})).get(integration_id)

    async def get_many(self, ids: set[int]) -> dict[int, IntegrationRow]:
        """The rows of `ids` that exist (one query for all that must be read)."""
        now = time.monotonic()
        rows = self._rows
        # taken before any read: a change heard during one drops cached rows, which this caller
        # still had a moment ago
        out = {i: rows[i][1] for i in ids if i in rows and now - rows[i][0] < self.ttl * self.STALE_FOR}
        aging = [i for i in out if now - rows[i][0] >= self.ttl]
        if aging:
            self._refresh(aging)
        missing = ids - out.keys()
        if not missing:
            return out
        # a read begun after the last change is as good as a new one; the rest, one read
        under_way = {i: self._reading_since_last_change(i) for i in missing}
        reads = {r for r in under_way.values() if r is not None}
        unread = {i for i, r in under_way.items() if r is None}
        if unread:
            reads.add(self._start_read(unread))
        # shielded: a caller cancelled (its client gone) must not cancel a read others wait for
        for answer in await asyncio.gather(*(asyncio.shield(r) for r in reads)):
            out.update((i, row) for i, row in answer.items() if i in missing)
        return out

    def _reading_since_last_change(self, integration_id: int) -> asyncio.Future[dict[int, IntegrationRow]] | None:
        """A read of this id under way that began after the last change heard: its answer is
        as good as a new read's (one begun before a change is not, see `_read`)."""
        reading = self._reading.get(integration_id)
        return reading[1] if reading is not None and reading[0] == self._forgets else None

    def _refresh(self, ids: list[int]) -> None:
        """Re-read rows past their `ttl` in the background (callers keep the cached rows meanwhile)."""
        unread = {i for i in ids if self._reading_since_last_change(i) is None}
        if unread:
            self._start_read(unread).add_done_callback(_quiet)

    def _start_read(self, ids: set[int]) -> asyncio.Future[dict[int, IntegrationRow]]:
        heard = self._forgets
        reading = asyncio.ensure_future(self._read(ids, heard))
        for i in ids:
            self._reading[i] = (heard, reading)
        reading.add_done_callback(lambda done: self._read_ended(ids, done))
        return reading

    def _read_ended(self, ids: set[int], done: asyncio.Future[dict[int, IntegrationRow]]) -> None:
        for i in ids:
            if self._reading.get(i, (0, None))[1] is done:
                del self._reading[i]

    async def _read(self, ids: set[int], heard: int) -> dict[int, IntegrationRow]:
        now = time.monotonic()
        async with read(self.engine) as conn:
            fresh = await integration_store.get_rows(conn, ids)
        if self._forgets == heard:
            # kept only if no change was heard while it was read: a read begun before a change
            # committed (the worker's, say) and kept after it would bring back the old row, and
            # with it, for up to `ttl`, a webhook secret just rotated away
            for i in ids:
                if i in fresh:
                    self._rows[i] = (now, fresh[i])
                else:
                    self._rows.pop(i, None)
        return fresh


def _quiet(done: asyncio.Future[Any]) -> None:
    """A background refresh that failed (the database away): the rows stay as they were, and
    are read again at the next ask; the failure is not this caller's to report."""
    if not done.cancelled() and done.exception() is not None:
        log.warning("could not re-read integration rows: %s", done.exception())
