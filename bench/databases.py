"""The databases the service is measured on: a fresh SQLite file per service start, and
PostgreSQL's `jira_sync_bench` with its public schema dropped before each start."""
from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PG_DB = "jira_sync_bench"


@dataclass
class Database:
    name: str
    fresh: Callable[[], str]  # an empty database's URL, new for every service start


def sqlite_database(workdir: Path) -> Database:
    numbers = itertools.count()

    def fresh() -> str:
        return f"sqlite:///{workdir / f'bench-{next(numbers)}.db'}"

    return Database("SQLite", fresh)


async def _pg_reset(name: str = PG_DB) -> str:
    """Create the database if missing and drop its public schema; the server's version."""
    import asyncpg

    plain = PG_SERVER.replace("+asyncpg", "")
    admin = await asyncpg.connect(f"{plain}/postgres", timeout=3)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
        version = await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
    conn = await asyncpg.connect(f"{plain}/{name}", timeout=3)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return str(version)


def postgres_database(name: str = PG_DB) -> tuple[Database | None, str]:
    """(the database, the server's version), or (None, why PostgreSQL is skipped)."""
    try:
        version = asyncio.run(_pg_reset(name))
    except Exception as exc:  # no server, refused, no driver...
        return None, f"PostgreSQL unreachable at {PG_SERVER}: {type(exc).__name__}: {exc}"

    def fresh() -> str:
        asyncio.run(_pg_reset(name))
        return f"{PG_SERVER}/{name}"

    return Database("PostgreSQL", fresh), version
