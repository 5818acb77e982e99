"""Processes killed with -9 mid-reconcile: the incident in flight is in step within seconds of
a restart (it used to wait out a 120 s lease), with exactly one issue.

Jira creates the issue but holds its answer (`lost_response`), so the process dies between
the create and recording it: the next one must adopt the issue, not make a second."""
from __future__ import annotations

import time
from typing import Any

import pytest

from e2e.conftest import make_stack, wait_until
from e2e.processes import api, free_port, kill, start, stop, up
from jira_sync.devtools.fake_flashduty import FakeFlashduty, WebhookSender
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer

OLD_LEASE = 120.0  # seconds an in-flight incident waited after a crash before this fix
CREATE = r"/rest/api/\d/issue$"


def _hold_the_create(jira: FakeJira) -> None:
    jira.faults.add(method="POST", path=CREATE, kind="lost_response", times=1, delay=60)


def _in_step(client: Any, integration_id: int, incident_id: str) -> dict[str, Any] | None:
    d = client.get(f"/api/integrations/{integration_id}/incidents/{incident_id}").json()
    return d if d["state"] == "idle" and d["jira"]["key"] else None


def _one_issue(jira: FakeJira, incident_id: str, detail: dict[str, Any]) -> None:
    time.sleep(0.5)  # nothing else arrives late
    found = jira.issues_with_label(f"flashduty-{incident_id}")
    assert len(found) == 1 and detail["jira"]["key"] == found[0].key
    assert jira.count_requests("POST", CREATE) == 1


def test_serve_killed_mid_reconcile_is_in_step_within_seconds_of_restart(settings) -> None:  # type: ignore[no-untyped-def]
    """`serve` (default lease) on SQLite or PostgreSQL: the restarted process sees that its
    predecessor's pid is gone and retakes its claims at once."""
    jira = FakeJira("cloud")
    with FakeJiraServer(jira) as jira_server:
        port = free_port()
        proc = start(settings, "serve", port=port, jira_timeout=30)
        try:
            wait_until(lambda: up(port), timeout=30, what="service start")
            created = api(port).post("/api/integrations", json={
                "name": "crash", "project": "OPS", "issue_type": "10001",
                "jira": {"platform": "cloud", "url": jira_server.url, "username": "admin@example.com",
                         "secret": "cloud-token"},
            })
            assert created.status_code == 201, created.text
            integration_id, hook = created.json()["id"], created.json()["webhook"]
            _hold_the_create(jira)
            new = FakeFlashduty().open_incident()
            incident_id = new["incident"]["incident_id"]
            with WebhookSender(hook["url"], {hook["header"]: hook["secret"]}) as sender:
                assert sender.send(new) == 200
            wait_until(lambda: jira.issues_with_label(f"flashduty-{incident_id}"), what="the create to land in Jira")
            kill(proc)
        finally:
            stop(proc)
        restarted = time.monotonic()
        proc = start(settings, "serve", port=port, jira_timeout=30)
        try:
            wait_until(lambda: up(port), timeout=30, what="service restart")
            detail = wait_until(lambda: _in_step(api(port), integration_id, incident_id), timeout=OLD_LEASE / 2,
                                what="the in-flight incident in step after the restart")
            took = time.monotonic() - restarted
            print(f"\nserve ({settings.database_url.split(':')[0]}): in step {took:.1f} s after the restart")
            _one_issue(jira, incident_id, detail)
        finally:
            stop(proc)


@pytest.fixture
def pg_stack(settings, database_url):  # type: ignore[no-untyped-def]
    """HTTP in this process without a worker; the tests run `jira-sync worker` processes."""
    if not database_url.startswith("postgresql"):
        pytest.skip("worker processes need PostgreSQL")
    stack, stop_stack = make_stack(settings, "cloud", run_worker=False, over_http=True)
    yield stack
    stop_stack()


def _incident_in_flight(stack: Any) -> tuple[int, str]:
    integration_id, hook = stack.integration()
    _hold_the_create(stack.jira)
    new = stack.flashduty.open_incident()
    incident_id = new["incident"]["incident_id"]
    stack.send(hook, new)
    wait_until(lambda: stack.jira.issues_with_label(f"flashduty-{incident_id}"), what="the create to land in Jira")
    return integration_id, incident_id


@pytest.mark.postgres
def test_worker_killed_mid_reconcile_is_in_step_within_seconds_of_restart(settings, pg_stack) -> None:  # type: ignore[no-untyped-def]
    worker = start(settings, "worker", jira_timeout=30)
    try:
        integration_id, incident_id = _incident_in_flight(pg_stack)
        kill(worker)
        restarted = time.monotonic()
        worker = start(settings, "worker", jira_timeout=30)
        detail = wait_until(lambda: _in_step(pg_stack.api, integration_id, incident_id), timeout=OLD_LEASE / 2,
                            what="the in-flight incident in step after the restart")
        print(f"\nworker (postgresql): in step {time.monotonic() - restarted:.1f} s after the restart")
        _one_issue(pg_stack.jira, incident_id, detail)
    finally:
        stop(worker)


@pytest.mark.postgres
def test_a_live_worker_takes_over_from_a_dead_one_within_a_lease(settings, pg_stack) -> None:  # type: ignore[no-untyped-def]
    """No restart at all: the other worker's heartbeat finds the dead one's pid gone."""
    first = start(settings, "worker", jira_timeout=30)
    second = None
    try:
        integration_id, incident_id = _incident_in_flight(pg_stack)
        second = start(settings, "worker", jira_timeout=30)  # started after the claim: it must not take it
        time.sleep(3)
        assert pg_stack.api.incident(integration_id, incident_id)["state"] == "in_flight"
        kill(first)
        killed = time.monotonic()
        detail = wait_until(lambda: _in_step(pg_stack.api, integration_id, incident_id), timeout=OLD_LEASE / 2,
                            what="the other worker to take the incident over")
        took = time.monotonic() - killed
        print(f"\nworker (postgresql): taken over by a live worker {took:.1f} s after the kill")
        assert took < OLD_LEASE / 4, f"took {took:.1f} s: a heartbeat (every 5 s) should have found the dead worker"
        _one_issue(pg_stack.jira, incident_id, detail)
    finally:
        stop(first, *([second] if second else []))
