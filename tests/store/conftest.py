"""A database with integrations and queued incidents, for tests that drive the store by hand."""
from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable

import pytest

from jira_sync.crypto import SecretBox
from jira_sync.domain.incident import IncidentSnapshot, WebhookEvent
from jira_sync.domain.integration import IntegrationConfig
from jira_sync.domain.jira_meta import JiraMeta
from jira_sync.store import integrations as integration_store
from jira_sync.store import intake
from jira_sync.store.db import make_engine, migrate


@pytest.fixture
async def queued(settings) -> AsyncIterator[Callable[..., Awaitable[Any]]]:  # type: ignore[no-untyped-def]
    """`engine = await queued(url, ...)`: a migrated database with one integration per Jira URL
    (named i0, i1 ...), each with one incident (inc0, inc1 ...) queued for the worker."""
    engines = []

    async def make(*urls: str) -> Any:
        engine = make_engine(settings.database_url)
        engines.append(engine)
        await migrate(engine)
        box = SecretBox(settings.secret_key.get_secret_value())
        async with engine.begin() as conn:
            for n, url in enumerate(urls):
                cfg = IntegrationConfig.model_validate({
                    "name": f"i{n}", "project": "OPS", "issue_type": "10001",
                    "jira": {"platform": "cloud", "url": url, "username": "a@b.c", "secret": "tok"},
                })
                iid = await integration_store.insert(conn, cfg, box, "0" * 64, JiraMeta())
                event = WebhookEvent(f"e{n}", "i_new", 1, IncidentSnapshot(incident_id=f"inc{n}", title="t"))
                await intake.accept_events(conn, [intake.Incoming(iid, event, True, "queued")])
        return engine

    yield make
    for engine in engines:
        await engine.dispose()
