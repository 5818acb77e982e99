"""The queue's guarantees, on SQLite and PostgreSQL: redeliveries are no-ops, the newest
snapshot wins whatever the arrival order, changes coalesce, and no two workers hold the
same incident."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from jira_sync.crypto import SecretBox, generate_key
from jira_sync.domain.incident import IncidentSnapshot, WebhookEvent
from jira_sync.domain.integration import IntegrationConfig
from jira_sync.store import intake, integrations as integration_store
from jira_sync.domain.jira_meta import JiraMeta
from jira_sync.store import claims, queue
from jira_sync.store.db import make_engine, migrate
from jira_sync.store.tables import events, incidents
from support.databases import postgres_url


@pytest.fixture
async def engine(settings):  # type: ignore[no-untyped-def]
    eng = make_engine(settings.database_url)
    await migrate(eng)
    yield eng
    await eng.dispose()


CONFIG = {
    "name": "ops",
    "jira": {"platform": "cloud", "url": "https://x.atlassian.net", "username": "a@b.c", "secret": "tok"},
    "project": "OPS",
    "issue_type": "10001",
}


@pytest.fixture
async def integration_id(engine, settings) -> int:  # type: ignore[no-untyped-def]
    box = SecretBox(settings.secret_key.get_secret_value())
    async with engine.begin() as conn:
        return await integration_store.insert(conn, IntegrationConfig.model_validate(CONFIG), box, "0" * 64, JiraMeta())


def event(event_id: str, t: int, *, incident: str = "inc1", sev: str = "Warning", kind: str = "i_new") -> WebhookEvent:
    snap = IncidentSnapshot(incident_id=incident, title=f"t{t}", severity=sev, progress="Triggered")
    return WebhookEvent(event_id=event_id, event_type=kind, event_time=t, incident=snap)


async def accept(engine, iid, ev, activate=True):  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        [accepted] = await intake.accept_events(conn, [intake.Incoming(iid, ev, activate, "queued")])
        return accepted


async def row(engine, iid, incident="inc1"):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return (
            await conn.execute(sa.select(incidents).where(incidents.c.integration_id == iid, incidents.c.incident_id == incident))
        ).mappings().one()


async def test_redelivery_is_a_noop(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    first = await accept(engine, integration_id, event("e1", 1000))
    again = await accept(engine, integration_id, event("e1", 1000, sev="Critical"))
    assert not first.duplicate and first.queued
    assert again.duplicate and not again.queued
    r = await row(engine, integration_id)
    assert r["change_seq"] == 1 and r["severity"] == "Warning"
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(events)) == 1


async def test_newest_snapshot_wins_out_of_order(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    await accept(engine, integration_id, event("e2", 2000, sev="Critical"))
    await accept(engine, integration_id, event("e1", 1000, sev="Info"))  # older, arrives later
    r = await row(engine, integration_id)
    assert r["severity"] == "Critical" and r["snapshot_time"] == 2000
    assert r["snapshot"]["severity"] == "Critical"
    assert r["change_seq"] == 2


async def test_not_activated_is_stored_not_queued(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    res = await accept(engine, integration_id, event("e1", 1000), activate=False)
    assert not res.queued
    assert (await row(engine, integration_id))["state"] == "idle"
    res = await accept(engine, integration_id, event("e2", 2000), activate=True)
    assert res.queued
    # once activated, stays activated even if a later event would not match
    await accept(engine, integration_id, event("e3", 3000), activate=False)
    r = await row(engine, integration_id)
    assert r["activated"] and r["state"] == "pending"


async def test_changes_during_work_coalesce_and_keep_it_pending(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    await accept(engine, integration_id, event("e1", 1000))
    [claimed] = await claims.claim(engine, "w1", 10, 60)
    for i in range(10):  # ten changes while the worker is busy
        await accept(engine, integration_id, event(f"x{i}", 2000 + i))
    await claims.finish(engine, claimed, claimed.link(), "w1", [])
    r = await row(engine, integration_id)
    assert r["state"] == "pending" and r["synced_seq"] == 1 and r["change_seq"] == 11
    [again] = await claims.claim(engine, "w1", 10, 60)  # one more reconcile covers all ten
    await claims.finish(engine, again, again.link(), "w1", [])
    assert (await row(engine, integration_id))["state"] == "idle"
    assert await claims.claim(engine, "w1", 10, 60) == []


async def test_claims_are_exclusive_under_concurrency(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    for i in range(40):
        await accept(engine, integration_id, event(f"e{i}", 1000, incident=f"inc{i}"))
    results = await asyncio.gather(*(claims.claim(engine, f"w{n}", 7, 60) for n in range(8)))
    ids = [r.id for batch in results for r in batch]
    assert len(ids) == 40 and len(set(ids)) == 40


async def test_lease_expiry_hands_the_incident_to_another_worker(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    await accept(engine, integration_id, event("e1", 1000))
    # a lease long enough that a busy machine cannot let it run out between the two claims
    [mine] = await claims.claim(engine, "dead-worker", 10, 1.0)
    assert await claims.claim(engine, "w2", 10, 60) == []
    await asyncio.sleep(1.05)
    [theirs] = await claims.claim(engine, "w2", 10, 60)
    assert theirs.id == mine.id
    # the dead worker's late writes are refused
    assert not await claims.record_jira(engine, mine.id, "dead-worker", jira_issue_key="X-1")


async def test_failures_back_off_then_fail_visibly_and_retry(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    await accept(engine, integration_id, event("e1", 1000))
    [c] = await claims.claim(engine, "w", 10, 60)
    await claims.fail(engine, c, c.link(), "w", "503 from Jira", [], retry_at=10**12)
    assert await claims.claim(engine, "w", 10, 60) == []  # not due yet
    r = await row(engine, integration_id)
    assert r["state"] == "pending" and r["attempts"] == 1 and r["last_error"] == "503 from Jira"
    async with engine.begin() as conn:
        await conn.execute(incidents.update().values(due_at=0))
    [c] = await claims.claim(engine, "w", 10, 60)
    await claims.fail(engine, c, c.link(), "w", "Customer is required.", [], retry_at=None)
    async with engine.connect() as conn:
        stats = await queue.queue_stats(conn)
    assert stats.failed == 1 and stats.waiting == 0 and not stats.all_synced
    async with engine.begin() as conn:
        assert await queue.retry_failed(conn, integration_id, "inc1") is not None
    assert len(await claims.claim(engine, "w", 10, 60)) == 1


async def test_history_older_than_the_retention_is_pruned(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    from jira_sync.store.tables import exchanges

    await accept(engine, integration_id, event("old", 1000))
    [claimed] = await claims.claim(engine, "w", 10, 60)
    exchange = dict(at=0.0, method="POST", path="/rest/api/3/issue", request_body={}, status=201,
                    response_body={}, duration_ms=1.0)
    await claims.finish(engine, claimed, claimed.link(), "w", [exchange])
    async with engine.begin() as conn:
        await conn.execute(events.update().values(received_at=100.0))  # long ago
    await accept(engine, integration_id, event("new", 2000))
    assert await queue.prune_history(engine, older_than=1000.0) == (1, 1)
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(events)) == 1
        assert await conn.scalar(sa.select(sa.func.count()).select_from(exchanges)) == 0
        assert await conn.scalar(sa.select(sa.func.count()).select_from(incidents)) == 1  # incidents stay


async def test_a_batch_writes_what_the_same_events_one_by_one_write(engine, settings) -> None:  # type: ignore[no-untyped-def]
    """The group commit's multi-row statements (json text, default columns, ON CONFLICT in one
    statement) against the plain case: the same events, each in its own transaction."""
    import random

    box = SecretBox(settings.secret_key.get_secret_value())
    async with engine.begin() as conn:
        batched, single = [await integration_store.insert(conn, IntegrationConfig.model_validate({**CONFIG, "name": n}),
                                                          box, "0" * 64, JiraMeta()) for n in ("batched", "single")]
    rng = random.Random(7)
    evs = []
    for n in range(60):
        ev = event(f"e{rng.randrange(45)}", rng.randrange(1, 30), incident=f"inc{rng.randrange(7)}",
                   sev=rng.choice(["Critical", "Warning", "Info"]), kind=rng.choice(["i_new", "i_ack", "i_comm"]))
        evs.append((ev, rng.random() < 0.5))
    async with engine.begin() as conn:
        together = await intake.accept_events(conn, [intake.Incoming(batched, ev, act, "queued") for ev, act in evs])
    alone = [await accept(engine, single, ev, act) for ev, act in evs]
    # (`queued` says how the row stands after the whole batch, so it may differ for an early event)
    assert [a.duplicate for a in together] == [a.duplicate for a in alone]
    columns = ["incident_id", "snapshot", "snapshot_time", "title", "severity", "progress", "activated", "change_seq",
               "comment_seq", "state", "synced_seq", "attempts", "jira_unverified"]
    async with engine.connect() as conn:
        def rows(iid: int):  # type: ignore[no-untyped-def]
            return sa.select(*[incidents.c[c] for c in columns]).where(incidents.c.integration_id == iid).order_by(
                incidents.c.incident_id)
        got = [tuple(r) for r in await conn.execute(rows(batched))]
        want = [tuple(r) for r in await conn.execute(rows(single))]
        kept = sa.select(events.c.event_id, events.c.event_time).order_by(events.c.event_id)
        assert [tuple(r) for r in await conn.execute(kept.where(events.c.integration_id == batched))] == \
            [tuple(r) for r in await conn.execute(kept.where(events.c.integration_id == single))]
    assert got == want and len(got) == 7
    assert all(r[columns.index("snapshot")]["incident_id"] == r[0] for r in got)  # JSON, not text, when read back


async def test_a_reconcile_records_its_link_once_and_its_history_in_order(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    """What a reconcile writes (on PostgreSQL each write is one statement, see claims.py): the
    first link counts once, the comment it owes is marked due, the Jira exchanges are kept in
    the order sent with their bodies, and a worker whose lease is gone changes no row."""
    from jira_sync.store.jira_inbound import comment_states
    from jira_sync.store.incidents import exchanges_of

    await accept(engine, integration_id, event("e1", 1000))
    [c] = await claims.claim(engine, "w", 10, 60)
    assert await claims.record_jira(engine, c.id, "w", create_state="creating", create_sent_at=1.0)
    assert await claims.record_jira(engine, c.id, "w", comment_due="link:" + "r" * 200, create_state="created",
                                    jira_issue_id="10001", jira_issue_key="OPS-1")
    assert await claims.record_jira(engine, c.id, "w", jira_issue_id="10001", jira_issue_key="OPS-1")  # not a first link
    assert not await claims.record_jira(engine, c.id, "someone-else", jira_issue_id="10002")  # not their lease
    log = [dict(at=100.0 + i, method="POST", path=f"/rest/api/3/issue/{i}", request_body={"n": i, "text": "ü \u2028"},
                status=[201, None, 204][i], response_body=[["x"], None, "plain"][i], duration_ms=1.5) for i in range(3)]
    assert await claims.finish(engine, c, c.link(), "w", log) is False
    async with engine.connect() as conn:
        assert (await queue.queue_stats(conn, integration_id)).linked == 1
        kept = await exchanges_of(conn, c.id)
    assert [(x.path, x.status, x.request_body, x.response_body) for x in kept] == [
        (e["path"], e["status"], e["request_body"], e["response_body"]) for e in log]
    assert await comment_states(engine, c.id) == {"link:" + "r" * 123: "due"}
    r = await row(engine, integration_id)
    assert r["state"] == "idle" and r["jira_issue_id"] == "10001" and r["lease_owner"] is None
    # the lease is gone: a late fail leaves the row as it is (its history is still kept)
    await claims.fail(engine, c, c.link(), "w", "late", log, retry_at=None)
    assert (await row(engine, integration_id))["state"] == "idle"


async def test_a_link_left_to_the_closing_write_is_recorded_and_counted_once(engine, integration_id) -> None:  # type: ignore[no-untyped-def]
    """A reconcile that made an issue with no comment owed for it records the link in its
    closing write (sync/adopt.py `_linked`): finish or fail carries the id, the first link
    counts once, and a closing write without `first_link` never touches the link's columns
    (what `record_jira` committed stays as committed)."""
    from jira_sync.store.incidents import JiraLink

    for n, incident in enumerate(("inc1", "inc2", "inc3")):
        await accept(engine, integration_id, event(f"e{n}", 1000, incident=incident))
    one, two, three = sorted(await claims.claim(engine, "w", 10, 60), key=lambda r: r.incident_id)
    assert await claims.record_jira(engine, one.id, "w", create_state="creating", create_sent_at=1.0)

    made = JiraLink(create_state="created", jira_issue_id="10001", jira_issue_key="OPS-1")
    assert await claims.finish(engine, one, made, "w", [], first_link=True) is False
    await claims.fail(engine, two, JiraLink(create_state="created", jira_issue_id="10002", jira_issue_key="OPS-2"),
                      "w", "Jira refused the transition", [], retry_at=None, first_link=True)
    await claims.finish(engine, three, three.link(), "w", [])  # nothing made: nothing counted
    async with engine.connect() as conn:
        assert (await queue.queue_stats(conn, integration_id)).linked == 2
    r1, r2, r3 = [await row(engine, integration_id, i) for i in ("inc1", "inc2", "inc3")]
    assert (r1["create_state"], r1["jira_issue_id"], r1["create_sent_at"]) == ("created", "10001", None)
    assert (r2["create_state"], r2["jira_issue_id"], r2["state"]) == ("created", "10002", "failed")
    assert r3["jira_issue_id"] is None

    # the next reconcile of the first: a first_link write again (say, after an adopt) counts nothing more
    await accept(engine, integration_id, event("e9", 2000, incident="inc1"))
    [again] = await claims.claim(engine, "w", 10, 60)
    assert await claims.finish(engine, again, again.link(), "w", [], first_link=True) is False
    async with engine.connect() as conn:
        assert (await queue.queue_stats(conn, integration_id)).linked == 2
    # without first_link the link's columns are not written: a stale "creating" mark is kept
    await accept(engine, integration_id, event("e10", 3000, incident="inc3"))
    [c3] = await claims.claim(engine, "w", 10, 60)
    assert await claims.record_jira(engine, c3.id, "w", create_state="creating", create_sent_at=5.0)
    await claims.finish(engine, c3, c3.link(), "w", [])  # c3.link() is as claimed: create_state None
    assert (await row(engine, integration_id, "inc3"))["create_state"] == "creating"


@pytest.fixture
def pg_url() -> str:
    return postgres_url()  # outside the test's event loop: it runs one of its own


@pytest.mark.postgres
async def test_an_unflushed_write_leaves_the_connection_flushing(pg_url: str) -> None:
    """The claim's commit skips the WAL flush by a setting local to its own statement: the
    pooled connection it ran on goes back flushing every commit (claims._lazy)."""
    eng = make_engine(pg_url, pool_size=1)
    try:
        await migrate(eng)
        box = SecretBox(generate_key())
        async with eng.begin() as conn:
            iid = await integration_store.insert(conn, IntegrationConfig.model_validate(CONFIG), box, "0" * 64, JiraMeta())
        await accept(eng, iid, event("e1", 1000))
        assert len(await claims.claim(eng, "w", 10, 60)) == 1
        async with eng.connect() as conn:  # the pool's one idle connection: the one the claim used
            assert await conn.scalar(sa.text("SHOW synchronous_commit")) == "on"
    finally:
        await eng.dispose()
