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


async def test_0003_counts_the_incidents_already_linked(settings) -> None:  # type: ignore[no-untyped-def]
    """An existing database upgraded to the kept synced counter starts from the true count (0003),
    and keeps it when the counter moves into shards (0010)."""
    import time

    import sqlalchemy as sa
    from alembic import command

    from jira_sync.store.db import alembic_config

    engine = make_engine(settings.database_url)

    def upgrade(sync_conn, to):  # type: ignore[no-untyped-def]
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, to)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade, "0002")
            now = time.time()
            for iid in (1, 2):
                await conn.execute(sa.text(
                    "INSERT INTO integrations (id, name, enabled, config, jira_secret_enc, webhook_secret_hash,"
                    " jira_meta, created_at, updated_at) VALUES (:id, :name, true, '{}', 'x', 'h', '{}', :now, :now)"
                ), {"id": iid, "name": f"i{iid}", "now": now})
            for n in range(5):
                await conn.execute(sa.text(
                    "INSERT INTO incidents (integration_id, incident_id, snapshot, snapshot_time, title, severity,"
                    " progress, activated, change_seq, synced_seq, comment_seq, comment_synced_seq, state,"
                    " attempts, jira_issue_id, created_at, updated_at) VALUES (1, :inc, '{}', 0, '', '', '', true,"
                    " 0, 0, 0, 0, 'idle', 0, :issue, :now, :now)"
                ), {"inc": f"inc-{n}", "issue": str(10000 + n) if n < 3 else None, "now": now})
            await conn.run_sync(upgrade, "head")
            # 0010 carries the counter over into its shards, and keeps every incident (a copied
            # integrations table dropped with foreign keys on would have cascaded)
            counts = dict((await conn.execute(sa.text(
                "SELECT i.id, (SELECT coalesce(sum(linked), 0) FROM link_counts WHERE integration_id = i.id)"
                " FROM integrations i ORDER BY i.id"))).all())
            kept = await conn.scalar(sa.text("SELECT count(*) FROM incidents"))
        assert counts == {1: 3, 2: 0} and kept == 5
    finally:
        await engine.dispose()
