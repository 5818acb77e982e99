"""One Jira client (and Flashduty API client) per integration, kept while it is unchanged.

Clients hold keep-alive connection pools, so reusing them across incidents is what makes
a steady-state change cost one round trip, not a TLS handshake too.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from ..crypto import SecretBox
from ..jira.client import JiraClient
from ..jira.port import Exchange, JiraPort
from ..jira.ratelimit import gate_for
from ..settings import Settings
from ..sources.flashduty_api import FlashdutyApi
from ..store.integrations import StoredIntegration, from_row


class ClientCache:
    def __init__(self, settings: Settings, on_exchange: Callable[[Exchange], Any] | None) -> None:
        self.settings = settings
        self.on_exchange = on_exchange
        self._entries: dict[int, tuple[float, StoredIntegration, JiraPort, FlashdutyApi | None]] = {}

    def get(self, row: Any, box: SecretBox) -> tuple[StoredIntegration, JiraPort, FlashdutyApi | None]:
        entry = self._entries.get(row.id)
        if entry is not None and entry[0] == row.updated_at:
            return entry[1], entry[2], entry[3]
        if entry is not None:  # configuration changed: retire the old clients
            asyncio.ensure_future(_close(entry[2], entry[3]))
        stored = from_row(row, box)
        jira = make_jira_client(stored, self.settings, self.on_exchange)
        fd = make_flashduty_client(stored)
        self._entries[row.id] = (row.updated_at, stored, jira, fd)
        return stored, jira, fd

    async def aclose(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        for _, _, jira, fd in entries:
            await _close(jira, fd)


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


async def _close(jira: JiraPort, fd: FlashdutyApi | None) -> None:
    await jira.aclose()
    if fd is not None:
        await fd.aclose()
