"""Engines and migrations. Nothing is built at import time: `bootstrap` calls these."""
from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from pathlib import Path
from typing import AsyncIterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One connection: SQLite allows one writer at a time, and a second connection that
        # finds the database locked waits in SQLite's busy handler, which sleeps in steps of
        # up to 100 ms. Queueing for the one connection in asyncio instead keeps webhook
        # answers in milliseconds while the worker writes too. (SQLite means one process.)
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0)
        _tune_sqlite(engine)
        return engine
    # PostgreSQL: enough pooled connections for the worker's concurrency plus webhooks and
    # the API, so a busy moment reuses connections instead of opening and closing overflow.
    # No pre-ping (a round trip per transaction): a connection the server dropped fails
    # its statement, the pool discards it, and the caller's retry (webhook sender, worker
    # backoff) gets a fresh one.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size // 2)


def _tune_sqlite(engine: AsyncEngine) -> None:
    # WAL lets readers (API, worker) run beside the writer (webhooks); synchronous=NORMAL
    # in WAL mode still never loses a committed transaction to a process crash, only
    # (possibly) the last ones to a power loss. Foreign keys are off by default in SQLite.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(sync_conn: sa.Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


class WriteTurns:
    """SQLite allows one writer at a time. Left to SQLite, a second writer sleeps in its busy
    handler (1, 2, 5, 10, 15, 20 ms...), and the holder's transaction is stretched by every
    hop back to a busy event loop: that made webhook answers wait tens of milliseconds.
    Deciding the turns here means SQLite never sees two writers, and webhooks go first."""

    def __init__(self) -> None:
        self._busy = False
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())

    @contextlib.asynccontextmanager
    async def turn(self, *, first: bool) -> AsyncIterator[None]:
        if self._busy or self._waiting[0] or self._waiting[1]:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting[0 if first else 1].append(future)
            try:
                await future  # handed the turn by the previous writer
            except BaseException:
                if future.done() and not future.cancelled():
                    self._hand_over()  # we were handed the turn but will not use it
                else:
                    self._waiting[0 if first else 1].remove(future)
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        for queue in self._waiting:
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)  # the turn passes on; _busy stays True
                    return
        self._busy = False


_turns: dict[str, WriteTurns] = {}


@contextlib.asynccontextmanager
async def write(engine: AsyncEngine, *, first: bool = False) -> AsyncIterator[AsyncConnection]:
    """A write transaction. On SQLite it waits for its turn (`first`: webhooks, ahead of the
    worker and the API); PostgreSQL has row locks and needs none of this."""
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    turns = _turns.setdefault(str(engine.url), WriteTurns())
    async with turns.turn(first=first):
        async with engine.begin() as conn:
            yield conn
