"""The one wiring point: settings in, engine + services out. Nothing is built at import time."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from .crypto import SecretBox
from .domain.integration import JiraConnection
from .jira.client import JiraClient
from .jira.ratelimit import gate_for
from .settings import Settings
from .store.db import make_engine, migrate
from .sync.admin import Admin
from .sync.changes import IntegrationChanges
from .sync.ingest import Ingestor


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    box: SecretBox
    admin: Admin
    ingestor: Ingestor
    wake: asyncio.Event
    changes: IntegrationChanges

    async def aclose(self) -> None:
        await self.engine.dispose()


async def start_runtime(settings: Settings, *, run_migrations: bool = True) -> Runtime:
    engine = make_engine(settings.database_url, pool_size=settings.worker_concurrency + 4)
    if run_migrations:
        await migrate(engine)
    box = SecretBox(settings.secret_key.get_secret_value())

    def jira_factory(conn: JiraConnection) -> JiraClient:
        return JiraClient(conn, gate=gate_for(conn.url, settings.site_concurrency), timeout=settings.jira_timeout)

    wake = asyncio.Event()  # set after a commit that queued work; the worker waits on it
    changes = IntegrationChanges()
    ingestor = Ingestor(engine, wake)
    changes.subscribe(ingestor.forget)
    admin = Admin(engine, box, jira_factory, on_change=changes.notify)
    return Runtime(settings, engine, box, admin, ingestor, wake, changes)
