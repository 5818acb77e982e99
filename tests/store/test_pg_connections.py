"""PostgreSQL connections opened ahead of load (store/db.py `open_connections`), each already
knowing the array types our batch statements send, so no reconcile waits for the driver to ask
the catalog mid-storm."""
from __future__ import annotations

import asyncpg
import pytest

from jira_sync.store.db import make_engine, open_connections
from support.databases import postgres_url

pytestmark = pytest.mark.postgres

ARRAYS = "SELECT $1::int4[], $2::int8[], $3::float8[], $4::varchar[], $5::bool[], $6::text[], $7::json[]"
VALUES = ([1], [2], [1.5], ["a"], [True], ["b"], ["{}"])


@pytest.fixture
def pg_url() -> str:
    return postgres_url()


def _catalog_questions(driver: asyncpg.Connection) -> list[str]:
    asked: list[str] = []
    driver.add_query_logger(lambda record: asked.append(record.query))
    return asked


async def test_a_bare_driver_connection_asks_the_catalog_for_array_types(pg_url: str) -> None:
    """The control: what the priming saves."""
    driver = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        asked = _catalog_questions(driver)
        await driver.fetch(ARRAYS, *VALUES)
        assert any("typeinfo_tree" in q for q in asked)
    finally:
        await driver.close()


async def test_opened_connections_stay_pooled_and_know_the_array_types(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=4)
    try:
        await open_connections(engine, 3)
        assert engine.pool.checkedin() == 3  # type: ignore[attr-defined]
        async with engine.connect() as a, engine.connect() as b, engine.connect() as c:
            for conn in (a, b, c):
                driver = (await conn.get_raw_connection()).driver_connection
                asked = _catalog_questions(driver)
                await driver.fetch(ARRAYS, *VALUES)
                assert not [q for q in asked if "typeinfo_tree" in q]
        assert engine.pool.checkedin() == 3  # type: ignore[attr-defined]  # reused, none opened
    finally:
        await engine.dispose()
