"""Engines and migrations. Nothing is built at import time: `bootstrap` calls these."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import AsyncIterator

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .. import turns
from .sqlite_inline import InlineEngine

# The names the rest of the service uses for the database handles: no module outside
# store/ imports SQLAlchemy.
Engine = AsyncEngine
Connection = AsyncConnection


class ConstraintViolated(Exception):
    """A write broke a constraint: a unique key, or a row it refers to is gone."""

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    if url.startswith("sqlite"):
        # SQLite runs inline on the event loop (store/sqlite_inline.py explains why). Another
        # process writing (the CLI) can make a statement wait for SQLite's lock: bounded to
        # a few seconds, since the wait holds the loop.
        # (the sqlite+aiosqlite: spelling of earlier versions is accepted)
        engine = InlineEngine(url.replace("sqlite+aiosqlite:", "sqlite:", 1), busy_timeout_s=5,
                              json_serializer=json_dumps)
        _tune_sqlite(engine.sync_engine)
        return engine  # type: ignore[return-value]  # the AsyncEngine subset the store uses
    # PostgreSQL: enough pooled connections for the worker's concurrency plus webhooks and
    # the API, so a busy moment reuses connections instead of opening and closing overflow.
    # No pre-ping (a round trip per transaction): a connection the server dropped fails
    # its statement, the pool discards it, and the caller's retry (webhook sender, worker
    # backoff) gets a fresh one.
    # LIFO: the same few connections serve a busy moment, so the statements asyncpg has
    # prepared on them are reused; a batch of n rows is its own statement, and round-robin
    # over 20 connections prepared every size on every connection (one round trip each).
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size // 2, pool_use_lifo=True,
                                 json_serializer=json_dumps)
    _prime_postgresql(engine.sync_engine)
    return engine


# The element types of the arrays our PostgreSQL batch statements send (store/intake.py,
# store/claims.py) and read back.
ARRAY_TYPES = ("bool", "int4", "int8", "float8", "varchar", "text", "json")


def _prime_postgresql(engine: sa.Engine) -> None:
    """asyncpg knows no array type until it has asked the server's catalog (a recursive query),
    once per connection, and again for each statement that brings a type not asked yet. Under
    a storm's first seconds, every connection a worker opened ran it mid-reconcile, 8-44 ms each
    on a busy server (sampled in pg_stat_activity: `WITH RECURSIVE typeinfo_tree`). One query
    for all of them when the connection opens puts that cost where `open_connections` can pay
    it before any load."""
    probe = "SELECT " + ", ".join(f"NULL::{t}[]" for t in ARRAY_TYPES)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.run_async(lambda driver: driver.fetch(probe))


async def open_connections(engine: AsyncEngine, count: int) -> None:
    """Open `count` pooled connections now and leave them in the pool (PostgreSQL; SQLite has
    one). A process about to take load (`serve`, `worker`) pays for connecting, and for the
    driver learning the types, before its first burst instead of during it."""
    if engine.dialect.name != "postgresql":
        return
    async with contextlib.AsyncExitStack() as held:
        for _ in range(count):
            await held.enter_async_context(engine.connect())


def json_dumps(value: object) -> str:
    """JSON columns (every incident's snapshot on the webhook path) written by orjson, about
    five times quicker than the json module; what orjson will not write (an integer past 64
    bits, a key that is not a string, number or bool) falls back to the json module."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _tune_sqlite(engine: sa.Engine) -> None:
    # WAL: readers never wait for the writer. synchronous=FULL: a commit reaches the disk
    # before it returns, so a webhook answered 200 (and the "creating" mark written before
    # a Jira create) survives a power loss, not only a crash of this process; measured at
    # ~0.4 ms per commit here. Foreign keys are off by default in SQLite.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


# Any constant shared by every jira-sync process: the advisory lock that migrations take.
MIGRATION_LOCK = 0x6A697261_73796E63 >> 1  # "jirasync", as a positive bigint


def _upgrade(sync_conn: sa.Connection) -> None:
    if sync_conn.dialect.name == "postgresql":
        # `serve` and any number of `worker` processes may start at the same moment: one
        # migrates while the others wait here, then find the schema at head. Without it two
        # of them both create alembic_version and one dies on a duplicate key in pg_type.
        # The lock is the transaction's: released by its commit (DDL is transactional).
        sync_conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to head, in one transaction (under a lock on PostgreSQL)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


@contextlib.asynccontextmanager
async def write(engine: AsyncEngine, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
    """A write transaction: the same on both databases (SQLite's one inline connection
    never interleaves two; PostgreSQL has row locks). Commits when the block ends.
    `urgent`: someone waits for it to answer (a webhook); on SQLite it goes first.
    (The worker's own writes on PostgreSQL are single statements instead: store/claims.py,
    run by store/pg_direct.py.)"""
    try:
        begin = engine.begin(urgent=urgent) if isinstance(engine, InlineEngine) else engine.begin()
        async with begin as conn:
            yield conn
    except IntegrityError as exc:
        raise ConstraintViolated(str(exc.orig)) from exc
    await turns.take()  # in a reconcile, once the connection is free again (turns.py)


@contextlib.asynccontextmanager
async def read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads (no transaction is committed)."""
    async with engine.connect() as conn:
        yield conn
    await turns.take()  # in a reconcile, once the connection is free again (turns.py)
