"""A standalone worker process (`jira-sync worker`), woken by PostgreSQL LISTEN/NOTIFY."""
from __future__ import annotations

import asyncio
import logging
import signal

from ..bootstrap import start_runtime
from ..settings import Settings
from ..store.queue import NOTIFY_CHANNEL
from .worker import Worker

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    rt = await start_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    listener = await listen(settings.database_url, rt.wake)
    try:
        await Worker(rt.engine, settings, rt.box, rt.wake).run(stop)
    finally:
        await listener.close()
        await rt.aclose()


async def listen(database_url: str, wake: asyncio.Event):  # type: ignore[no-untyped-def]
    """A dedicated asyncpg connection that sets `wake` on every NOTIFY from an ingest."""
    import asyncpg

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(NOTIFY_CHANNEL, lambda *_: wake.set())
    return conn
