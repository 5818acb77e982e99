"""SQLite's worker writes on the sqlite3 cursor (store/compiled.py, `InlineConnection.direct`):
the same rows, values and errors as through SQLAlchemy's execution."""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jira_sync.store import claims, intake
from jira_sync.store.db import ConstraintViolated, make_engine, migrate, read, write
from jira_sync.store.incidents import IncidentRecord
from jira_sync.store.tables import exchanges, incidents, link_counts
from support.store import add_integration, incoming

@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    await migrate(eng)
    yield eng
    await eng.dispose()


async def queued_incident(engine) -> int:  # type: ignore[no-untyped-def]
    iid = await add_integration(engine)
    [accepted] = await intake.accept_batch(engine, [incoming(iid, "e1")])
    assert accepted.queued
    return iid


async def through_sqlalchemy(engine, row_id: int) -> IncidentRecord:  # type: ignore[no-untyped-def]
    async with read(engine) as conn:
        return IncidentRecord.of((await conn.execute(sa.select(incidents).where(incidents.c.id == row_id))).one())


async def test_a_claimed_row_has_the_types_sqlalchemy_gives(engine) -> None:  # type: ignore[no-untyped-def]
    """Booleans come back as booleans and the JSON snapshot as a dict, not SQLite's 0/1 and text."""
    await queued_incident(engine)
    [claimed] = await claims.claim(engine, "w1", 4, 60)
    assert claimed == await through_sqlalchemy(engine, claimed.id)
    assert claimed.activated is True and claimed.jira_unverified is False
    assert claimed.snapshot["incident_id"] == "inc1" and claimed.lease_owner == "w1"


async def test_record_and_finish_write_what_they_are_given(engine) -> None:  # type: ignore[no-untyped-def]
    """The lease is checked (another owner writes nothing), a first link is counted once, and
    the reconcile's exchanges read back as they were logged, a missing body as None."""
    iid = await queued_incident(engine)
    [claimed] = await claims.claim(engine, "w1", 4, 60)
    assert not await claims.record_jira(engine, claimed.id, "someone-else", create_state="creating")
    assert await claims.record_jira(engine, claimed.id, "w1", create_state="creating", create_floor=7)
    assert await claims.record_jira(engine, claimed.id, "w1", create_state="created", jira_issue_id="10001")
    log = [dict(at=1.5, method="POST", path="/rest/api/3/issue", request_body={"fields": {"summary": "ü"}},
                status=201, response_body={"id": "10001", "key": "OPS-1"}, duration_ms=3.0),
           dict(at=2.5, method="GET", path="/rest/api/3/issue/10001", request_body=None, status=None,
                response_body=None, duration_ms=1.0)]
    link = (await through_sqlalchemy(engine, claimed.id)).link()
    assert await claims.finish(engine, claimed, link, "w1", log) is False  # nothing newer: idle
    row = await through_sqlalchemy(engine, claimed.id)
    assert (row.state, row.lease_owner, row.jira_issue_id, row.create_floor) == ("idle", None, "10001", 7)
    async with read(engine) as conn:
        logged = [dict(r._mapping) for r in await conn.execute(
            sa.select(*[exchanges.c[k] for k in log[0]]).where(exchanges.c.incident_row_id == claimed.id)
            .order_by(exchanges.c.id))]
        counted = (await conn.execute(sa.select(sa.func.sum(link_counts.c.linked))
                                      .where(link_counts.c.integration_id == iid))).scalar()
    assert logged == log and counted == 1


async def test_a_constraint_violation_is_an_error_the_store_knows(engine) -> None:  # type: ignore[no-untyped-def]
    await queued_incident(engine)
    duplicate = sa.insert(incidents).values(integration_id=1, incident_id="inc1", snapshot={}, snapshot_time=0,
                                            created_at=0.0, updated_at=0.0)
    with pytest.raises(ConstraintViolated):
        async with write(engine) as conn:
            await conn.direct(duplicate, {})


# ------------------------------------------------------------------ property
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)  # sqlite3 cannot encode lone surrogates
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
_incidents = itertools.count()


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('direct') / 'prop.db'}")
    asyncio.run(migrate(eng))
    iid = asyncio.run(queued_incident(eng))
    yield eng, iid
    asyncio.run(eng.dispose())


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.none() | TEXT, key=st.none() | TEXT, issue_id=st.none() | TEXT,
       floor=st.none() | st.integers(-(2**63), 2**63 - 1), sent=st.none() | st.floats(allow_nan=False, allow_infinity=False),
       unverified=st.booleans(), bodies=st.lists(st.tuples(JSON_VALUES, JSON_VALUES), max_size=3))
def test_whatever_a_reconcile_learned_reads_back_as_it_was(shared_engine, status, key, issue_id, floor, sent,
                                                           unverified, bodies) -> None:  # type: ignore[no-untyped-def]
    """Any text, number or JSON a reconcile hands the closing write comes back unchanged through
    SQLAlchemy, as the values written through SQLAlchemy's own execution did."""
    engine, iid = shared_engine

    async def example() -> None:
        n = next(_incidents)
        await intake.accept_batch(engine, [incoming(iid, f"e-p{n}", f"p{n}")])
        [claimed] = await claims.claim(engine, "w1", 1, 60)
        link = dataclasses.replace(claimed.link(), jira_status=status, jira_issue_key=key, jira_issue_id=issue_id,
                                   create_floor=floor, create_sent_at=sent, jira_unverified=unverified)
        log = [dict(at=1.0, method="PUT", path="/p", request_body=sent_body, status=200, response_body=answer,
                    duration_ms=0.5) for sent_body, answer in bodies]
        await claims.finish(engine, claimed, link, "w1", log, first_link=True)
        row = await through_sqlalchemy(engine, claimed.id)
        assert (row.jira_status, row.jira_issue_key, row.jira_issue_id, row.create_floor, row.create_sent_at,
                row.jira_unverified) == (status, key, issue_id, floor, sent, unverified)
        async with read(engine) as conn:
            logged = [(r.request_body, r.response_body) for r in await conn.execute(
                sa.select(exchanges).where(exchanges.c.incident_row_id == claimed.id).order_by(exchanges.c.id))]
        assert logged == list(bodies)

    asyncio.run(example())
