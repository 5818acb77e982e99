"""One Jira client (and Flashduty API client) per integration, kept while it is unchanged.

Clients hold keep-alive connection pools, so reusing them across incidents is what makes
a steady-state change cost one round trip, not a TLS handshake too. They are made by the
wiring's factories (`bootstrap.py`), the same ones setup uses.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Callable

from ..crypto import SecretBox
from ..domain.integration import FlashdutyApi as FlashdutyConfig
from ..domain.integration import JiraConnection
from ..domain.jira_meta import JiraMeta
from ..domain.integration import IntegrationConfig
from ..jira.port import ExchangeHook, JiraPort
from ..sources.flashduty_api import FlashdutyApi
from ..store.integrations import IntegrationRow, decrypt
from .known_state import SiteMemory, WorkflowMemory

JiraFactory = Callable[[JiraConnection, ExchangeHook | None], JiraPort]
FlashdutyFactory = Callable[[FlashdutyConfig], "FlashdutyApi | None"]


@dataclass
class IntegrationClients:
    """What a reconcile needs of one integration, built once per configuration version."""

    config: IntegrationConfig
    meta: JiraMeta
    jira: JiraPort  # the sync's calls, and the setup check a first sync may run (sync/learn.py)
    flashduty: FlashdutyApi | None
    workflow: WorkflowMemory = field(default_factory=WorkflowMemory)
    memory: SiteMemory = field(default_factory=SiteMemory)

    async def aclose(self) -> None:
        await self.jira.aclose()
        if self.flashduty is not None:
            await self.flashduty.aclose()


class ClientCache:
    def __init__(self, box: SecretBox, jira: JiraFactory, flashduty: FlashdutyFactory,
                 on_exchange: ExchangeHook | None) -> None:
        self.box = box
        self._jira = jira
        self._flashduty = flashduty
        self.on_exchange = on_exchange
        self._entries: dict[int, tuple[float, IntegrationClients]] = {}

    def get(self, row: IntegrationRow) -> IntegrationClients:
        entry = self._entries.get(row.id)
        if entry is not None and entry[0] == row.updated_at:
            return entry[1]
        if entry is not None:  # configuration changed: retire the old clients
            asyncio.ensure_future(entry[1].aclose())
        stored = decrypt(row, self.box)
        cfg = stored.config
        clients = IntegrationClients(cfg, stored.jira_meta, self._jira(cfg.jira, self.on_exchange),
                                     self._flashduty(cfg.flashduty))
        self._entries[row.id] = (row.updated_at, clients)
        return clients

    async def aclose(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        for _, clients in entries:
            await clients.aclose()
