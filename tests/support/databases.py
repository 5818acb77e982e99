"""The databases tests run on: a fresh SQLite file, and PostgreSQL when one answers.

PostgreSQL: JIRA_SYNC_TEST_PG_URL, else postgresql+asyncpg://postgres@127.0.0.1:5432/test.
A run without PostgreSQL skips those tests and says why; CI sets JIRA_SYNC_REQUIRE_PG=1,
which turns the skip into a failure.
"""
from __future__ import annotations

import asyncio
import atexit
import os

import pytest

PG_URL = os.environ.get("JIRA_SYNC_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# One database per pytest run, so two runs on one machine (a developer's and CI's) never
# empty each other's tables; dropped when the run ends.
TEST_DB = f"jira_sync_test_{os.getpid()}"


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _prepare_pg() -> str:
    """Create (once) and empty a dedicated database; return its SQLAlchemy URL."""
    import asyncpg

    admin = await asyncpg.connect(_plain(PG_URL), timeout=3)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", TEST_DB)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
            atexit.register(_drop_test_database)
    finally:
        await admin.close()
    url = PG_URL.rsplit("/", 1)[0] + "/" + TEST_DB
    conn = await asyncpg.connect(_plain(url), timeout=3)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return url


def _drop_test_database() -> None:
    async def drop() -> None:
        import asyncpg

        admin = await asyncpg.connect(_plain(PG_URL), timeout=3)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        finally:
            await admin.close()

    try:
        asyncio.run(drop())
    except Exception:  # best effort: a leftover test database is harmless
        pass


def postgres_url() -> str:
    """A freshly emptied PostgreSQL database, or skip (fail under JIRA_SYNC_REQUIRE_PG=1)."""
    try:
        return asyncio.run(_prepare_pg())
    except Exception as exc:  # no server, no driver, refused...
        reason = f"PostgreSQL not available at {PG_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("JIRA_SYNC_REQUIRE_PG") == "1":
            pytest.fail(reason + " (JIRA_SYNC_REQUIRE_PG=1)")
        pytest.skip(reason)
