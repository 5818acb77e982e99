"""The migrations build exactly the schema `store/tables.py` declares (no drift)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jira_sync.store.db import make_engine, migrate
from jira_sync.store.tables import metadata


async def test_migrations_match_the_tables(settings) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
        await migrate(engine)  # running again at the next start changes nothing

        def diff(sync_conn):  # type: ignore[no-untyped-def]
            return compare_metadata(MigrationContext.configure(sync_conn), metadata)

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
