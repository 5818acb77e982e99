"""The pause table's rules: an incident waits for a pause only while it lasts, a resume makes
every waiting incident of the site due at once, a Retry-After never shortens a pause."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from jira_sync.store import claims, sites
from jira_sync.store.sites import OUTAGE, SiteRow
from jira_sync.store.tables import incidents

SITE = "https://acme.atlassian.net"


@pytest.fixture
async def engine(queued):  # type: ignore[no-untyped-def]
    """Integrations 1 and 2 on the site (spelled two ways), 3 on another; one incident each."""
    return await queued(SITE, SITE + "/", "https://other.atlassian.net")


def _outage(now: float) -> SiteRow:
    return SiteRow(SITE, SITE, None, 1, OUTAGE, "Cannot reach it", now, now + 2, None, 0, now)


async def _due(engine) -> dict[str, float]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(incidents.c.incident_id, incidents.c.due_at))
        return {r.incident_id: r.due_at for r in rows}


async def _wait_all(engine, pause: str | None) -> float:  # type: ignore[no-untyped-def]
    """Every incident claimed and sent to wait an hour for `pause`; returns when."""
    later = time.time() + 3600
    for row in await claims.claim(engine, "w", 10, 60):
        await claims.fail(engine, row, row.link(), "w", "Waiting for Jira", [], retry_at=later,
                          failing_since=row.failing_since or time.time(), pause=pause, attempted=False)
    return later


async def test_an_incident_waits_for_a_pause_only_while_it_lasts(engine) -> None:  # type: ignore[no-untyped-def]
    await sites.pause(engine, _outage(time.time()))
    later = await _wait_all(engine, SITE)
    assert set((await _due(engine)).values()) == {later}
    await sites.resume(engine, [SITE], [1, 2, 3], time.time())
    # the pause ended while these reconciles still saw it: they do not wait out the hour
    assert len(rows := await claims.claim(engine, "w", 10, 60)) == 3
    for row in rows:
        await claims.fail(engine, row, row.link(), "w", "Waiting for Jira", [], retry_at=time.time() + 3600,
                          pause=SITE, attempted=False)
    assert all(due <= time.time() for due in (await _due(engine)).values())


async def test_a_resume_makes_the_sites_waiting_incidents_due_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    await sites.pause(engine, _outage(time.time()))
    await _wait_all(engine, None)
    resumed = await sites.resume(engine, [SITE], [1, 2], time.time())
    due = await _due(engine)
    assert resumed == 2 and due["inc0"] <= time.time() and due["inc1"] <= time.time()
    assert due["inc2"] > time.time() + 3000  # another site's incident keeps its own backoff
    assert await sites.load(engine) == []
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.max(incidents.c.attempts)).where(incidents.c.id < 3)) == 0


async def test_a_retry_after_never_shortens_a_pause_and_keeps_its_reason(engine) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    await sites.note_rate_limit(engine, SITE, now, now + 60, "wait 60 s")
    await sites.note_rate_limit(engine, SITE, now, now + 5, "wait 5 s")
    [row] = await sites.load(engine)
    assert row.reason == "rate_limited" and row.resume_at == pytest.approx(now + 60)
    await sites.pause(engine, _outage(now + 1))  # then the site stops answering at all
    await sites.note_rate_limit(engine, SITE, now, now + 10, "wait 10 s")
    [row] = await sites.load(engine)
    assert row.reason == OUTAGE and row.resume_at == pytest.approx(now + 60) and row.since == now + 1
    await sites.pause(engine, _outage(now + 30))  # still down: since when stays
    [row] = await sites.load(engine)
    assert row.since == now + 1
