"""The worker outlives a database that goes away for a moment."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa

from jira_sync.crypto import SecretBox
from jira_sync.domain.incident import IncidentSnapshot, WebhookEvent
from jira_sync.domain.integration import IntegrationConfig
from jira_sync.store import intake, integrations as integration_store
from jira_sync.bootstrap import start_runtime
from jira_sync.domain.jira_meta import JiraMeta
from jira_sync.store import claims
from jira_sync.store.tables import incidents
from jira_sync.sync import worker as worker_module

CONFIG = {
    "name": "ops",
    # nothing listens there: the reconcile fails fast with a connection error (retryable)
    "jira": {"platform": "cloud", "url": "http://127.0.0.1:9", "username": "a@b.c", "secret": "tok"},
    "project": "OPS",
    "issue_type": "10001",
}


async def runtime_with_a_queued_incident(settings):  # type: ignore[no-untyped-def]
    """A started runtime (worker not running) with one integration and one incident waiting."""
    rt = await start_runtime(settings)
    box = SecretBox(settings.secret_key.get_secret_value())
    async with rt.engine.begin() as conn:
        iid = await integration_store.insert(conn, IntegrationConfig.model_validate(CONFIG), box, "0" * 64, JiraMeta())
        event = WebhookEvent("e1", "i_new", 1, IncidentSnapshot(incident_id="inc1", title="t"))
        await intake.accept_events(conn, [intake.Incoming(iid, event, True, "queued")])
    return rt, iid


async def test_a_failed_claim_is_retried_and_the_worker_keeps_going(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rt, iid = await runtime_with_a_queued_incident(settings)
    engine = rt.engine

    real_claim, calls = claims.claim, []

    async def flaky_claim(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("claim", {}, Exception("server closed the connection"))
        return await real_claim(*args, **kwargs)

    monkeypatch.setattr(worker_module.claims, "claim", flaky_claim)
    monkeypatch.setattr(worker_module, "DB_RETRY", 0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(rt.worker().run(stop))
    try:
        for _ in range(200):  # the incident was attempted after the failed claim
            async with engine.connect() as conn:
                attempts = await conn.scalar(sa.select(incidents.c.attempts))
            if attempts:
                break
            await asyncio.sleep(0.05)
        assert attempts == 1 and len(calls) >= 2 and not task.done()
    finally:
        stop.set()
        await task
        await rt.aclose()


async def test_an_integration_deleted_while_its_incident_syncs_is_one_log_line(settings, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    # found by bench/fuzz.py: schemathesis deleted an integration during a sync, and the
    # worker logged a traceback for recording the outcome of a row that was gone
    rt, iid = await runtime_with_a_queued_incident(settings)
    reconciled = asyncio.Event()

    async def deleted_meanwhile(job):  # type: ignore[no-untyped-def]
        worker_module.current_log.get().append(dict(at=1.0, method="POST", path="/rest/api/3/issue", request_body=None,
                                                    status=201, response_body=None, duration_ms=1.0))
        await rt.integrations.delete(iid)
        reconciled.set()

    monkeypatch.setattr(worker_module, "reconcile", deleted_meanwhile)
    stop = asyncio.Event()
    task = asyncio.create_task(rt.worker().run(stop))
    try:
        await asyncio.wait_for(reconciled.wait(), 10)
        await asyncio.sleep(0.3)
        assert not task.done()
        assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    finally:
        stop.set()
        await task
        await rt.aclose()


async def test_a_process_starting_during_a_pause_holds_back_too(settings) -> None:  # type: ignore[no-untyped-def]
    """Another process records a Retry-After (and announces it) after this one read the pauses at
    start, before it listened: it must still hold back, at once, not at its next heartbeat. (Seen
    in CI: a worker started 0.27 s after another's 429 sent Jira 49 requests during the pause.)"""
    import time

    import pytest

    from jira_sync.jira.ratelimit import site_key
    from jira_sync.store import sites as site_store

    if not settings.is_postgres:
        pytest.skip("one process on SQLite: nothing to announce")
    site = "https://acme.atlassian.net"
    rt = await start_runtime(settings)  # reads the pauses: none yet
    try:
        now = time.time()
        await site_store.note_rate_limit(rt.engine, site_key(site), now, now + 30, "Jira asked to wait 30 s")
        async with rt.background(run_worker=False):
            assert rt.gates.for_site(site).paused_for > 25
    finally:
        await rt.aclose()
