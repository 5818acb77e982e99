"""A standalone worker process (`jira-sync worker`), woken by PostgreSQL LISTEN/NOTIFY."""
from __future__ import annotations

import asyncio
import logging
import signal

from ..bootstrap import start_runtime
from ..settings import Settings
from ..store.queue import NOTIFY_CHANNEL
from .changes import CHANGE_CHANNEL, IntegrationChanges
from .worker import Worker

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    rt = await start_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(rt.engine, settings, rt.box, rt.wake)
    rt.changes.subscribe(worker.forget)
    listener = await listen(settings.database_url, rt.wake, rt.changes)
    try:
        await worker.run(stop)
    finally:
        await listener.close()
        await rt.aclose()


async def listen(database_url: str, wake: asyncio.Event, changes: IntegrationChanges):  # type: ignore[no-untyped-def]
    """A dedicated asyncpg connection hearing what other processes commit: queued work
    (sets `wake`) and integration changes (drops cached rows)."""
    import asyncpg

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake.set())
    await conn.add_listener(CHANGE_CHANNEL, lambda _conn, _pid, _channel, payload: changes.on_notify(payload))
    return conn
