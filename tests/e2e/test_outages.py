"""Jira outages are ridden out: incidents wait for the site instead of failing, and all of
them are in step within a probe interval of its return. Refused credentials pause their
account until they are changed. Failed incidents are retried all at once."""
from __future__ import annotations

import os
import time
from typing import Any

import pytest

from e2e.conftest import Stack, make_stack, wait_until
from jira_sync.devtools.fake_jira import FakeJiraServer

# how long Jira stays down (an hour in the field; settable, shortened for the suite)
OUTAGE_SECONDS = float(os.environ.get("JIRA_SYNC_TEST_OUTAGE_SECONDS", "6"))
PROBE_SECONDS = 2.0


def _site(stack: Stack, integration_id: int) -> dict[str, Any]:
    return stack.api.get(f"/api/integrations/{integration_id}").json()["site"]


def _restart_on_the_same_port(stack: Stack) -> FakeJiraServer:
    port = int(stack.jira_url.rsplit(":", 1)[1])
    return FakeJiraServer(stack.jira, port=port)


@pytest.mark.timeout(OUTAGE_SECONDS + 120)
def test_a_jira_outage_ends_with_every_incident_in_step_within_a_probe_interval(settings) -> None:  # type: ignore[no-untyped-def]
    settings.probe_seconds = PROBE_SECONDS
    stack, stop = make_stack(settings, "cloud", over_http=True)  # Jira stopped for real: refused connections
    back_up = _restart_on_the_same_port(stack)
    try:
        integration_id, hook = stack.integration()
        earlier = [stack.flashduty.open_incident(incident_severity="Critical") for _ in range(3)]
        for p in earlier:
            stack.send(hook, p)
        stack.synced()

        assert stack.jira_server is not None
        stack.jira_server.stop()  # Jira goes away: connections are refused
        during = [stack.flashduty.open_incident(incident_severity="Warning") for _ in range(4)]
        for p in during:
            stack.send(hook, p)
        for p in earlier:  # updates keep arriving meanwhile
            iid = p["incident"]["incident_id"]
            stack.send(hook, stack.flashduty.set_severity(iid, "Info"))
            stack.send(hook, stack.flashduty.ack(iid))
        site = wait_until(lambda: (s := _site(stack, integration_id))["state"] == "paused" and s,
                          what="the site to be paused")
        assert site["reason"] == "unreachable" and site["since"] and site["next_probe_at"], site
        assert "Cannot reach" in site["message"], site
        listed = stack.api.get("/api/sites").json()
        assert [s["state"] for s in listed] == ["paused"] and listed[0]["integration_ids"] == [integration_id]

        time.sleep(OUTAGE_SECONDS)  # the outage goes on: probes fail, nothing gives up
        queue = stack.api.get("/api/queue").json()
        assert queue["failed"] == 0 and queue["waiting"] == len(earlier) + len(during), queue
        waiting = stack.api.get(f"/api/integrations/{integration_id}/incidents", params={"state": "pending"}).json()
        assert all(i["next_attempt_at"] and i["last_error"].startswith("Waiting for Jira") for i in waiting["items"])

        back_up.start()  # Jira is back, at the same address
        back = time.monotonic()
        stack.synced(timeout=PROBE_SECONDS + 30)
        took = time.monotonic() - back
        print(f"\nall {len(earlier) + len(during)} incidents in step {took:.1f} s after Jira came back "
              f"(probe interval {PROBE_SECONDS:g} s, outage {OUTAGE_SECONDS:g} s)")
        assert took < PROBE_SECONDS + 10, took  # the next probe finds it, then one reconcile each
        assert stack.api.get("/api/queue").json()["failed"] == 0
        for p in earlier:
            issue = stack.issue_for(p["incident"]["incident_id"])
            assert issue.status_name == "In Progress" and issue.fields["priority"]["name"] == "Low"
        for p in during:
            assert stack.issue_for(p["incident"]["incident_id"]).fields["priority"]["name"] == "Medium"
        assert _site(stack, integration_id)["state"] == "ok"
    finally:
        stop()
        back_up.stop()


def test_revoked_credentials_pause_their_account_until_they_are_changed(cloud: Stack) -> None:
    integration_id, hook = cloud.integration()
    first = cloud.flashduty.open_incident()
    cloud.send(hook, first)
    cloud.synced()

    cloud.jira.revoke_credentials("admin@example.com")  # the API token expires
    later = [cloud.flashduty.open_incident() for _ in range(3)]
    for p in later:
        cloud.send(hook, p)
    cloud.send(hook, cloud.flashduty.ack(first["incident"]["incident_id"]))
    site = wait_until(lambda: (s := _site(cloud, integration_id))["state"] == "paused" and s,
                      what="the account to be paused")
    assert site["reason"] == "credentials" and site["account"] == "admin@example.com"
    assert ("The API token for admin@example.com was refused: it has expired or was revoked; enter a new one"
            in site["message"]), site["message"]
    time.sleep(1)
    queue = cloud.api.get("/api/queue").json()
    assert queue["failed"] == 0 and queue["waiting"] == 4, queue  # waiting, not failed one by one
    refused = _refusals(cloud)
    time.sleep(2)
    assert _refusals(cloud) == refused  # and Jira is not asked again with the refused token meanwhile
    assert _site(cloud, integration_id)["state"] == "paused"

    # a person enters the new token: the waiting incidents resume
    cloud.jira.users_by_email["admin@example.com"].secret = "a-new-token"
    changed = cloud.api.put(f"/api/integrations/{integration_id}", json={"jira": {"secret": "a-new-token"}})
    assert changed.status_code == 200, changed.text
    cloud.synced(timeout=30)
    for p in later:
        cloud.issue_for(p["incident"]["incident_id"])
    assert cloud.issue_for(first["incident"]["incident_id"]).status_name == "In Progress"
    assert _site(cloud, integration_id)["state"] == "ok"
    assert cloud.api.get("/api/queue").json()["failed"] == 0


def _refusals(stack: Stack) -> int:
    return sum(1 for _, _, status in list(stack.jira.request_log) if status == 401)


def test_retry_all_failed_queues_every_failed_incident_of_the_integration(cloud: Stack) -> None:
    integration_id, hook = cloud.integration(check=False, project="REQ")  # REQ needs a Customer: each fails
    payloads = [cloud.flashduty.open_incident() for _ in range(3)]
    for p in payloads:
        cloud.send(hook, p)
    wait_until(lambda: cloud.api.get("/api/queue").json()["failed"] == 3, what="three failed incidents")
    fix = {"field_map": [{"source": "label", "name": "service", "target": "customfield_10060", "default": "unknown"}]}
    assert cloud.api.put(f"/api/integrations/{integration_id}", json=fix).status_code == 200
    retried = cloud.api.post(f"/api/integrations/{integration_id}/retry-failed")
    assert retried.status_code == 200 and retried.json() == {"retried": 3}, retried.text
    cloud.synced(timeout=30)
    for p in payloads:
        cloud.issue_for(p["incident"]["incident_id"])
    assert cloud.api.post(f"/api/integrations/{integration_id}/retry-failed").json() == {"retried": 0}
    assert cloud.api.post("/api/integrations/999/retry-failed").status_code == 404
