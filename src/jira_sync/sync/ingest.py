"""Accepting a webhook: authenticate, parse, decide whether the trigger fires, commit.

Never calls Jira: the answer depends only on our own database, so it stays far inside
Flashduty's 2 s timeout while Jira is slow or down (flashduty.md §1).

Group commit: deliveries that arrive while a write is in progress are written together,
in one transaction, by a writer task; each is answered only after that commit. One at
a time, a batch is one delivery; under a burst, the transaction and driver round trips
are shared, which is what lets one process take thousands of events per second. On
PostgreSQL a few writers run at once (`store.db.write_concurrency`): a batch spends most of
its time waiting for round trips and the WAL flush, and the next can fill and start
meanwhile; rows are written in key order, so they cannot deadlock.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ..crypto import webhook_secret_matches
from ..domain.trigger import Trigger
from ..sources.flashduty import PayloadError, parse_webhook
from ..store import queue
from ..store.db import ConstraintViolated, Engine, write, write_concurrency
from ..store.integrations import IntegrationRow
from ..store.queue import Accepted, Incoming
from .changes import IntegrationRows

log = logging.getLogger(__name__)

MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: int
    body: dict[str, Any]


UNAUTHORIZED = IngestResult(401, {"error": "unauthorized", "message": "missing or wrong webhook secret"})
UNAVAILABLE = IngestResult(503, {"error": "unavailable", "message": "the event could not be stored; nothing was recorded"})


class Ingestor:
    def __init__(self, engine: Engine, rows: IntegrationRows, wake: asyncio.Event | None) -> None:
        """`rows`: the process's cache of integration rows (secret hash, trigger), shared with
        the worker; a change made through this process drops an entry at once, a change from
        another process within the cache's time to live."""
        self.engine = engine
        self.wake = wake
        self.rows = rows
        self._triggers: dict[tuple[int, float], Trigger] = {}  # (id, updated_at) -> compiled
        self._waiting: list[tuple[Incoming, asyncio.Future[Accepted]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._max_writers = write_concurrency(engine)

    async def ingest(self, integration_id: int, presented_secret: str | None, body: bytes) -> IngestResult:
        try:
            row = await self.rows.get(integration_id)
        except Exception:
            log.exception("could not read integration %s", integration_id)
            return UNAVAILABLE
        # the same answer for an unknown integration and a wrong secret: ids are not secrets
        if row is None or not webhook_secret_matches(presented_secret, row.webhook_secret_hash):
            return UNAUTHORIZED
        return await self._accept(integration_id, row, body)

    async def ingest_trusted(self, integration_id: int, body: bytes) -> IngestResult:
        """The same intake for a body we made ourselves from Flashduty's Open API (the
        recovery sweep): no webhook secret to present."""
        try:
            row = await self.rows.get(integration_id)
        except Exception:
            log.exception("could not read integration %s", integration_id)
            return UNAVAILABLE
        if row is None:
            return UNAUTHORIZED
        return await self._accept(integration_id, row, body)

    async def _accept(self, integration_id: int, row: IntegrationRow, body: bytes) -> IngestResult:
        try:
            event = parse_webhook(body)
        except PayloadError as exc:
            return IngestResult(400, {"error": "bad_payload", "message": str(exc)})
        activate, outcome = self._trigger(row).decide(event)
        try:
            accepted = await self._submit(Incoming(integration_id, event, activate, outcome))
        except ConstraintViolated:  # the integration was deleted a moment ago
            self.rows.forget(integration_id)
            return UNAUTHORIZED
        except Exception:  # the database is away (logged by the writer): nothing was kept
            return UNAVAILABLE
        # committed: only now may Flashduty hear 200
        if accepted.duplicate:
            return IngestResult(200, {"status": "duplicate", "event_id": event.event_id})
        result = {"status": "accepted", "event_id": event.event_id, "incident_id": event.incident.incident_id}
        result["sync"] = "queued" if accepted.queued else outcome
        if not row.enabled:
            result["note"] = "integration disabled: stored, syncs when enabled"
        if event.repaired:
            result["repaired"] = list(event.repaired)
        return IngestResult(200, result)

    def _trigger(self, row: IntegrationRow) -> Trigger:
        """The row's trigger, compiled once per configuration version."""
        trigger = self._triggers.get(row.version)
        if trigger is None:
            if len(self._triggers) > 1024:  # old versions pile up over months of edits
                self._triggers.clear()
            trigger = self._triggers[row.version] = Trigger(row.public_config())
        return trigger

    # ------------------------------------------------------------------ group commit
    async def _submit(self, item: Incoming) -> Accepted:
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if len(self._writers) < self._max_writers:
            writer = asyncio.create_task(self._drain(), name="ingest-writer")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            await self._write(batch)

    async def _write(self, batch: list[tuple[Incoming, asyncio.Future[Accepted]]]) -> None:
        try:
            async with write(self.engine, urgent=True) as conn:
                results = await queue.accept_events(conn, [item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:  # one bad delivery must not fail the others: write them alone
                for pair in batch:
                    await self._write([pair])
                return
            if not isinstance(exc, ConstraintViolated):
                log.exception("could not store a webhook event")
            _settle(batch[0][1], exc=exc)
            return
        for (_, future), result in zip(batch, results):
            _settle(future, result=result)
        if self.wake is not None and any(r.queued for r in results):
            self.wake.set()


def _settle(future: asyncio.Future[Accepted], *, result: Accepted | None = None, exc: BaseException | None = None) -> None:
    if future.done():  # the request went away (client disconnected); the write stands
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
