"""PostgreSQL's hot statements on the driver directly (store/pg_direct.py): the same rows
and errors as through SQLAlchemy, and a connection that failed never goes back to the pool."""
from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
import sqlalchemy as sa

from jira_sync.store import claims, intake, pg_direct
from jira_sync.store.db import ConstraintViolated, make_engine, migrate
from jira_sync.store.tables import incidents
from support.databases import postgres_url
from support.store import add_integration, incoming

pytestmark = pytest.mark.postgres

@pytest.fixture
def pg_url() -> str:
    return postgres_url()  # outside the test's event loop: it runs one of its own


@pytest.fixture
async def engine(pg_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(pg_url, pool_size=1)
    await migrate(eng)
    yield eng
    await eng.dispose()


async def test_a_batch_written_on_the_driver_gets_the_columns_sqlalchemy_would_default(engine) -> None:  # type: ignore[no-untyped-def]
    """The incident upsert is an INSERT from SELECT: SQLAlchemy adds the columns' Python-side
    defaults (synced_seq=0, state, attempts...) as parameters of its own, which the driver
    path must send too (NOT NULL columns: a missing one fails the batch)."""
    iid = await add_integration(engine)
    [accepted, again] = await intake.accept_batch(engine, [incoming(iid, "e1"), incoming(iid, "e1")])
    assert not accepted.duplicate and accepted.queued and again.duplicate
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(incidents).where(incidents.c.id == accepted.incident_row_id))).one()
    assert (row.synced_seq, row.comment_synced_seq, row.attempts, row.jira_unverified, row.state) == (0, 0, 0, False, "pending")
    [claimed] = await claims.claim(engine, "w1", 10, 60)
    assert claimed.snapshot["incident_id"] == "inc1"  # JSON comes back decoded, as through SQLAlchemy
    assert claimed.change_seq == 1 and claimed.lease_owner == "w1"


async def test_a_batch_for_a_deleted_integration_is_a_constraint_violation(engine) -> None:  # type: ignore[no-untyped-def]
    """The ingest answers 401 and forgets the integration on ConstraintViolated (sync/ingest.py)."""
    with pytest.raises(ConstraintViolated):
        await intake.accept_batch(engine, [incoming(999_999, "e1")])
    iid = await add_integration(engine)  # and the connection is fine afterwards
    assert (await intake.accept_batch(engine, [incoming(iid, "e2")]))[0].queued


async def test_a_connection_that_failed_is_not_handed_out_again(engine, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """The server ends the pooled connection (a restart, a failover): the statement on it fails,
    and the next one runs on a new connection instead of failing the same way forever."""
    iid = await add_integration(engine)
    await intake.accept_batch(engine, [incoming(iid, "e1")])
    async with engine.connect() as conn:  # the pool's one connection
        pid = (await conn.get_raw_connection()).driver_connection.get_server_pid()
    admin = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    with pytest.raises(Exception):
        await intake.accept_batch(engine, [incoming(iid, "e2", "inc2")])
    [accepted] = await intake.accept_batch(engine, [incoming(iid, "e3", "inc3")])
    assert accepted.queued


def test_statements_with_expanding_parameters_are_refused() -> None:
    """An IN list is expanded at execution by SQLAlchemy: compiled once, it would be wrong."""
    engine = make_engine("postgresql+asyncpg://u@127.0.0.1/none")
    with pytest.raises(ValueError, match="expanding"):
        pg_direct.compiled(sa.select(incidents.c.id).where(incidents.c.id.in_([1, 2])), engine.dialect)


def test_a_missing_parameter_is_an_error_not_a_null() -> None:
    engine = make_engine("postgresql+asyncpg://u@127.0.0.1/none")
    c = pg_direct.compiled(claims._claim_postgresql(), engine.dialect)
    with pytest.raises(KeyError):
        c.arguments({"now": 1.0, "owner": "w", "until": 2.0})  # no limit


async def test_an_overflow_connection_is_closed_when_given_back(pg_url: str, caplog) -> None:  # type: ignore[no-untyped-def]
    """Under a burst the pool opens connections past its size and closes them as they come
    back: closing is a driver call, which must work from the direct path too (SQLAlchemy's
    pool would only log the failure and leave the connection open on the server)."""
    engine = make_engine(pg_url, pool_size=2)  # and one overflow
    try:
        slow = sa.select(sa.func.pg_sleep(0.2), sa.literal(1))
        results = await asyncio.gather(*(pg_direct.fetch(engine, slow, {}) for _ in range(3)))
        assert [list(r[0])[1] for r in results] == [1, 1, 1]
        assert engine.pool.checkedout() == 0 and engine.pool.overflow() <= 0
        assert [list(r)[0] for r in await pg_direct.fetch(engine, sa.select(sa.literal(2)), {})] == [2]
        assert not [r for r in caplog.records if r.name.startswith("sqlalchemy.pool") and r.levelno >= logging.ERROR]
    finally:
        await engine.dispose()
