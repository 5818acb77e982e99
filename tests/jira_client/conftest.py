"""Fixtures for the Jira client's contract tests."""
from __future__ import annotations

from typing import Any

import pytest

from jira_sync.domain.integration import JiraConnection
from jira_sync.jira.client import JiraClient
from jira_sync.jira.ratelimit import SiteGate

from .support import Script


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
async def make_client(script: Script):
    clients: list[JiraClient] = []

    def make(conn: JiraConnection, **kw: Any) -> JiraClient:
        kw.setdefault("gate", SiteGate(8))
        client = JiraClient(conn, transport=script.transport, **kw)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
