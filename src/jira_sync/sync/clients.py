"""One Jira client (and Flashduty API client) per integration, kept while it is unchanged.

Clients hold keep-alive connection pools, so reusing them across incidents is what makes
a steady-state change cost one round trip, not a TLS handshake too.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from ..crypto import SecretBox
from ..jira.client import JiraClient
from ..jira.port import Exchange, JiraPort
from ..jira.ratelimit import gate_for
from ..settings import Settings
from ..sources.flashduty_api import FlashdutyApi
from ..store.integrations import StoredIntegration, from_row
from .known_state import WorkflowMemory


@dataclass
class IntegrationClients:
    """What a reconcile needs of one integration, built once per configuration version."""

    stored: StoredIntegration
    jira: JiraPort
    flashduty: FlashdutyApi | None
    workflow: WorkflowMemory = field(default_factory=WorkflowMemory)

    async def aclose(self) -> None:
        await self.jira.aclose()
        if self.flashduty is not None:
            await self.flashduty.aclose()


class ClientCache:
    def __init__(self, settings: Settings, on_exchange: Callable[[Exchange], Any] | None) -> None:
        self.settings = settings
        self.on_exchange = on_exchange
        self._entries: dict[int, tuple[float, IntegrationClients]] = {}

    def get(self, row: Any, box: SecretBox) -> IntegrationClients:
        entry = self._entries.get(row.id)
        if entry is not None and entry[0] == row.updated_at:
            return entry[1]
        if entry is not None:  # configuration changed: retire the old clients
            asyncio.ensure_future(entry[1].aclose())
        stored = from_row(row, box)
        clients = IntegrationClients(
            stored, make_jira_client(stored, self.settings, self.on_exchange), make_flashduty_client(stored)
        )
        self._entries[row.id] = (row.updated_at, clients)
        return clients

    async def aclose(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        for _, clients in entries:
            await clients.aclose()


def make_jira_client(
    stored: StoredIntegration, settings: Settings, on_exchange: Callable[[Exchange], Any] | None = None
) -> JiraClient:
    conn = stored.config.jira
    return JiraClient(
        conn,
        gate=gate_for(conn.url, settings.site_concurrency),
        on_exchange=on_exchange,
        timeout=settings.jira_timeout,
    )


def make_flashduty_client(stored: StoredIntegration) -> FlashdutyApi | None:
    fd = stored.config.flashduty
    if fd.app_key is None:
        return None
    return FlashdutyApi(fd.base_url, fd.app_key.get_secret_value())

