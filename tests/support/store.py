"""For tests that drive the store by hand (no app): an integration and webhook deliveries,
written as the API and the ingest path write them."""
from __future__ import annotations

from typing import Any

from jira_sync.crypto import SecretBox, generate_key
from jira_sync.domain.incident import IncidentSnapshot, WebhookEvent
from jira_sync.domain.integration import IntegrationConfig
from jira_sync.domain.jira_meta import JiraMeta
from jira_sync.store import integrations as integration_store
from jira_sync.store import intake

CONFIG = {
    "name": "ops", "project": "OPS", "issue_type": "10001",
    "jira": {"platform": "cloud", "url": "https://x.atlassian.net", "username": "a@b.c", "secret": "tok"},
}


async def add_integration(engine: Any) -> int:
    """A cloud integration (CONFIG) with a key of its own; its row id."""
    async with engine.begin() as conn:
        box = SecretBox(generate_key())
        return await integration_store.insert(conn, IntegrationConfig.model_validate(CONFIG), box, "0" * 64, JiraMeta())


def incoming(iid: int, event_id: str, incident: str = "inc1") -> intake.Incoming:
    """A new incident's delivery that the trigger activated (queued for the worker)."""
    snap = IncidentSnapshot(incident_id=incident, title="disk full", severity="Critical", progress="Triggered")
    return intake.Incoming(iid, WebhookEvent(event_id, "i_new", 1000, snap), True, "queued")
