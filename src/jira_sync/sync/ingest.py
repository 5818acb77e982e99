"""Accepting a webhook: authenticate, parse, decide whether the trigger fires, commit.

Never calls Jira: the answer depends only on our own database, so it stays far inside
Flashduty's 2 s timeout while Jira is slow or down (flashduty.md §1).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from ..crypto import webhook_secret_matches
from ..domain.conditions import compile_conditions
from ..domain.incident import IncidentSnapshot, WebhookEvent
from ..domain.integration import IntegrationConfig
from ..sources.flashduty import PayloadError, parse_webhook
from ..store import integrations as integration_store
from ..store import queue


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: int
    body: dict[str, Any]


class Trigger:
    """An integration's trigger, compiled once per configuration version."""

    def __init__(self, config: dict[str, Any]) -> None:
        cfg = IntegrationConfig.model_validate({**config, "jira": {**config["jira"], "secret": "-"}})
        self.automatic = cfg.trigger == "automatic"
        self.channels = frozenset(cfg.channels)
        self.match: Callable[[IncidentSnapshot], bool] = compile_conditions(cfg.conditions)

    def decide(self, event: WebhookEvent) -> tuple[bool, str]:
        """(activate?, outcome). A custom action is a manual trigger in either mode."""
        if self.channels and event.incident.channel_id not in self.channels:
            return False, "out_of_channel_scope"
        if event.event_type == "i_custom":
            return True, "queued"
        if self.automatic and self.match(event.incident):
            return True, "queued"
        return False, "stored"


# (integration id, updated_at) -> compiled trigger; an edit changes updated_at
_triggers: dict[tuple[int, float], Trigger] = {}


async def ingest(
    engine: AsyncEngine, integration_id: int, presented_secret: str | None, body: bytes, wake: asyncio.Event | None
) -> IngestResult:
    async with engine.begin() as conn:
        row = await integration_store.get_row(conn, integration_id)
        # the same answer for an unknown integration and a wrong secret: ids are not secrets
        if row is None or not webhook_secret_matches(presented_secret, row.webhook_secret_hash):
            return IngestResult(401, {"error": "unauthorized", "message": "missing or wrong webhook secret"})
        try:
            event = parse_webhook(body)
        except PayloadError as exc:
            return IngestResult(400, {"error": "bad_payload", "message": str(exc)})
        trigger = _trigger_for(row)
        activate, outcome = trigger.decide(event)
        accepted = await queue.accept_event(conn, integration_id, event, activate=activate, outcome=outcome)
    # committed: only now may Flashduty hear 200, and the worker look
    if accepted.queued and wake is not None:
        wake.set()
    if accepted.duplicate:
        return IngestResult(200, {"status": "duplicate", "event_id": event.event_id})
    result = {"status": "accepted", "event_id": event.event_id, "incident_id": event.incident.incident_id}
    result["sync"] = "queued" if accepted.queued else outcome
    if not row.enabled:
        result["note"] = "integration disabled: stored, syncs when enabled"
    return IngestResult(200, result)


def _trigger_for(row: Any) -> Trigger:
    key = (row.id, row.updated_at)
    trigger = _triggers.get(key)
    if trigger is None:
        if len(_triggers) > 1024:
            _triggers.clear()
        trigger = _triggers[key] = Trigger(row.config)
    return trigger
