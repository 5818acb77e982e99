"""Accepting a webhook: authenticate, parse, decide whether the trigger fires, commit.

Never calls Jira: the answer depends only on our own database, so it stays far inside
Flashduty's 2 s timeout while Jira is slow or down (flashduty.md §1).

Group commit: deliveries that arrive while a write is in progress are written together by
one writer task, and each is answered only after that commit. One at a time, a batch is one
delivery; under a burst, the batch grows while the previous one is written, and the
statements, round trips and disk flush are shared: that is what lets one process take
thousands of events per second. One writer on both databases: on PostgreSQL a batch is a
single statement (`store/intake.py`), and measured under a storm one writer with larger
batches took more events per second than two or four with smaller ones (5,400/s vs
4,800/s and 4,200/s, `bench/run.py --storm`).
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from dataclasses import dataclass
from typing import Any

from ..crypto import webhook_secret_matches
from ..domain.trigger import COMMENT_SKIPPED, NO_APP_KEY, Trigger
from ..observe.metrics import UNKNOWN, Metrics
from ..sources.flashduty import PayloadError, parse_webhook
from ..store import intake
from ..store.db import ConstraintViolated, Engine
from ..store.integrations import IntegrationRow
from ..store.intake import Accepted, Incoming
from .changes import IntegrationRows

log = logging.getLogger(__name__)

MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: int
    body: dict[str, Any]


UNAUTHORIZED = IngestResult(401, {"error": "unauthorized", "message": "missing or wrong webhook secret"})
# a refusal's reason in the metrics, by its status (413 and 415 are counted in web/webhooks.py)
_REJECTED = {400: "bad_payload", 401: "unauthorized", 503: "unavailable"}
UNAVAILABLE = IngestResult(503, {"error": "unavailable", "message": "the event could not be stored; nothing was recorded"})


class Ingestor:
    def __init__(self, engine: Engine, rows: IntegrationRows, wake: asyncio.Event | None,
                 metrics: Metrics | None = None) -> None:
        """`rows`: the process's cache of integration rows (secret hash, trigger), shared with
        the worker; a change made through this process drops an entry at once, a change from
        another process within the cache's time to live."""
        self.engine = engine
        self.wake = wake
        self.rows = rows
        self.metrics = metrics if metrics is not None else Metrics()
        self._triggers: dict[tuple[int, float], Trigger] = {}  # (id, updated_at) -> compiled
        self._waiting: list[tuple[Incoming, asyncio.Future[Accepted]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def ingest(self, integration_id: int, presented_secret: str | None, body: bytes) -> IngestResult:
        """A webhook delivery, counted in the metrics by its outcome."""
        try:
            row = await self.rows.get(integration_id)
        except Exception:
            log.exception("could not read integration %s", integration_id)
            return self._counted(self.metrics.integration_label(integration_id), UNAVAILABLE)
        if row is None:  # ids no integration has share one label: a client trying ids makes no series
            return self._counted(UNKNOWN, UNAUTHORIZED)
        self.metrics.known_integration(integration_id)
        # the same answer for an unknown integration and a wrong secret: ids are not secrets
        if not webhook_secret_matches(presented_secret, row.secret_hashes(time.time())):
            return self._counted(str(integration_id), UNAUTHORIZED)
        return self._counted(str(integration_id), await self._accept(integration_id, row, body))

    def _counted(self, label: str, result: IngestResult) -> IngestResult:
        if result.status == 200:
            self.metrics.webhook(label, result.body["status"])
        else:
            self.metrics.webhook(label, "rejected", _REJECTED.get(result.status, "bad_payload"))
        return result

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
        trigger = self._trigger(row)
        activate, outcome = trigger.decide(event)
        no_comment_text = event.event_type == "i_comm" and not row.flashduty_app_key_enc
        if no_comment_text and activate:  # the timeline says so, not only the server log
            outcome = COMMENT_SKIPPED
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
        notes = [] if accepted.queued else [trigger.why_not(event, outcome)]
        if no_comment_text and (activate or accepted.queued):  # queued by this event, or synced already
            notes.append(f"comment skipped: {NO_APP_KEY}")
        if not row.enabled:
            notes.append("integration disabled: stored, syncs when enabled")
        if any(notes):
            result["note"] = "; ".join(n for n in notes if n)
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
        # a writer that has returned is replaced here (a done-callback would run only on the loop's
        # next turn, and an item submitted before then would have no writer at all)
        if self._writer is None or self._writer.done():
            # a context of its own: a writer serves many requests, its lines name none of them
            self._writer = asyncio.create_task(self._drain(), name="ingest-writer", context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            await self._write(batch)

    async def _write(self, batch: list[tuple[Incoming, asyncio.Future[Accepted]]]) -> None:
        try:
            results = await intake.accept_batch(self.engine, [item for item, _ in batch])
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
