"""Failures are visible and retryable, and never cost a duplicate or a lost update."""
from __future__ import annotations

import json
import time

import pytest

from e2e.conftest import Stack, wait_until


def test_webhook_rejects_bad_requests_and_stores_nothing(cloud: Stack) -> None:
    integration_id, hook = cloud.integration()
    url = hook.url
    good = cloud.flashduty.open_incident()
    secret_header = {"X-Jira-Sync-Secret": hook.headers["X-Jira-Sync-Secret"]}
    cases = [
        (401, {}, json.dumps(good)),  # no secret
        (401, {"X-Jira-Sync-Secret": "wrong"}, json.dumps(good)),
        (400, secret_header, "{not json"),
        (400, secret_header, json.dumps({"event_type": "i_new", "incident": {"title": "no id"}})),
        (400, secret_header, "[1, 2]"),
        (413, secret_header, json.dumps({**good, "pad": "x" * 1_100_000})),
    ]
    for status, headers, body in cases:
        r = cloud.http.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        assert r.status_code == status, (status, r.text)
        assert r.json()["message"]
    r = cloud.http.post(url, content=json.dumps(good), headers={"Content-Type": "text/plain", **secret_header})
    assert r.status_code == 415
    other = url.rsplit("/", 1)[0] + "/999"  # an integration that does not exist
    r = cloud.http.post(other, content=json.dumps(good), headers={"Content-Type": "application/json", **secret_header})
    assert r.status_code == 401
    listed = cloud.api.get(f"/api/integrations/{integration_id}/incidents").json()
    assert listed["items"] == []
    # the secret in the URL works too, for senders that cannot set headers
    r = cloud.http.post(f"{url}?secret={secret_header['X-Jira-Sync-Secret']}", json=good)
    assert r.status_code == 200


def test_unknown_fields_and_event_types_are_accepted(cloud: Stack) -> None:
    _, hook = cloud.integration()
    new = cloud.flashduty.open_incident()
    new["from_the_future"] = {"x": 1}
    new["incident"]["new_field"] = [1, 2]
    cloud.send(hook, new)
    weird = dict(new, event_id="ffff0000", event_type="i_teleported")
    cloud.send(hook, weird)
    cloud.synced()
    cloud.issue_for(new["incident"]["incident_id"])


def test_required_field_without_mapping_fails_clearly_with_no_issue(cloud: Stack) -> None:
    refused = cloud.api.post("/api/integrations", json=cloud.config(project="REQ"))
    assert refused.status_code == 422
    assert "Customer" in json.dumps(refused.json())  # named, before anything is created
    integration_id, hook = cloud.integration(check=False, project="REQ")  # saved anyway: the sync must fail clearly
    new = cloud.flashduty.open_incident()
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    detail = wait_until(
        lambda: (d := cloud.api.incident(integration_id, incident_id))["state"] == "failed" and d, what="failed state"
    )
    assert "Customer" in detail["last_error"], detail["last_error"]
    assert not cloud.jira.issues
    assert cloud.api.get("/api/queue").json()["failed"] == 1
    # a person fixes the mapping, then retries from the API
    fix = {"field_map": [{"source": "label", "name": "service", "target": "customfield_10060", "default": "unknown"}]}
    assert cloud.api.put(f"/api/integrations/{integration_id}", json=fix).status_code == 200
    assert cloud.api.post(f"/api/integrations/{integration_id}/incidents/{incident_id}/retry").status_code == 200
    cloud.synced()
    assert cloud.issue_for(incident_id).fields["customfield_10060"] == "checkout"


def test_lost_create_answer_adopts_the_issue_instead_of_duplicating(cloud_over_http: Stack) -> None:
    cloud = cloud_over_http  # a lost answer is a dropped connection: only a server can drop one
    _, hook = cloud.integration()
    cloud.jira.faults.add(method="POST", path=r"/rest/api/\d/issue$", kind="lost_response", times=1)
    new = cloud.flashduty.open_incident()
    cloud.send(hook, new)
    cloud.synced(timeout=30)
    cloud.issue_for(new["incident"]["incident_id"])  # exactly one
    assert cloud.jira.count_requests("POST", r"/rest/api/\d/issue$") == 1


def test_429_storm_is_waited_out_for_the_whole_site(cloud: Stack) -> None:
    _, hook = cloud.integration()
    cloud.jira.faults.add(method=None, path=r"/rest/api/", kind="429", times=4, retry_after=1)
    started = time.time()
    payloads = [cloud.flashduty.open_incident() for _ in range(5)]
    for p in payloads:
        cloud.send(hook, p)
    cloud.synced(timeout=60)
    for p in payloads:
        cloud.issue_for(p["incident"]["incident_id"])
    assert time.time() - started >= 1.0  # Retry-After was honoured, not hammered
    assert cloud.jira.count_requests("POST", r"/rest/api/\d/issue$") >= 5


def test_ten_changes_while_jira_is_down_become_one_update(cloud: Stack) -> None:
    integration_id, hook = cloud.integration()
    new = cloud.flashduty.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.synced()
    before = cloud.jira.count_requests("PUT", None)
    cloud.jira.faults.add(method=None, path=r"/rest/api/", kind="503", times=1, retry_after=1)
    for sev in ["Warning", "Info", "Critical", "Info", "Warning"] * 2:
        cloud.send(hook, cloud.flashduty.set_severity(incident_id, sev))
    cloud.synced(timeout=30)
    assert cloud.issue_for(incident_id).fields["priority"]["id"] == "3"
    assert cloud.jira.count_requests("PUT", None) - before <= 2  # not ten


def test_invalid_configuration_is_refused_without_echoing_secrets(cloud: Stack) -> None:
    cfg = cloud.config(trigger="sometimes")
    cfg["jira"]["secret"] = "s3cr3t-token-Xy"
    r = cloud.api.post("/api/integrations", json=cfg)
    assert r.status_code == 422 and "trigger" in r.text
    assert "s3cr3t-token-Xy" not in r.text
    bad_conditions = cloud.config(conditions=[[{"key": "labels.x", "oper": "IN", "vals": ["/(unclosed/"]}]])
    r = cloud.api.post("/api/integrations", json=bad_conditions)
    assert r.status_code == 422 and "invalid regular expression" in r.text, r.text
    created = cloud.api.create_integration(cloud.config())
    r = cloud.api.put(f"/api/integrations/{created['id']}", json={"jira": {"url": "ftp://nope", "secret": "s3cr3t-token-Xy"}})
    assert r.status_code == 422 and "s3cr3t-token-Xy" not in r.text
    assert cloud.api.get(f"/api/integrations/{created['id']}").json()["config"]["jira"]["url"] == cloud.jira_url
    assert cloud.api.get("/api/integrations/999").status_code == 404
    assert cloud.api.post("/api/integrations", json=cloud.config(name=created["name"])).status_code == 409


def test_api_requires_the_admin_token(cloud: Stack) -> None:
    assert cloud.http.get(f"{cloud.service.url}/api/integrations").status_code == 401
    wrong = cloud.http.get(f"{cloud.service.url}/api/integrations", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert cloud.http.get(f"{cloud.service.url}/healthz").json()["status"] == "ok"


def test_webhooks_are_answered_in_time_while_jira_hangs(cloud_over_http: Stack) -> None:
    """Jira is never called on the request path: Flashduty's 2 s timeout is met regardless."""
    cloud = cloud_over_http  # timeouts are the point: real sockets on both sides
    _, hook = cloud.integration()
    cloud.jira.faults.add(method=None, path=r"/rest/api/", kind="timeout", times=None, delay=5)
    payloads = [cloud.flashduty.open_incident() for _ in range(10)]
    for p in payloads:
        assert hook.send(p) == 200  # WebhookSender uses Flashduty's 2 s timeout and raises past it
    queue = cloud.api.get("/api/queue").json()
    assert queue["waiting"] + queue["in_flight"] == 10 and queue["oldest_waiting_age_seconds"] >= 0
    cloud.jira.faults.clear()


def test_transient_failures_end_in_the_failed_state_after_give_up_hours(settings) -> None:  # type: ignore[no-untyped-def]
    """A 500 on one request while the site itself answers: the incident backs off alone and,
    after GIVE_UP_HOURS (shortened here to 2 s), is failed with Jira's answer kept."""
    from e2e.conftest import make_stack

    settings.give_up_hours = 2 / 3600
    stack, stop = make_stack(settings, "cloud")
    try:
        integration_id, hook = stack.integration()
        stack.jira.faults.add(method="POST", path=r"/rest/api/\d/issue$", kind="500", times=None)
        new = stack.flashduty.open_incident()
        incident_id = new["incident"]["incident_id"]
        stack.send(hook, new)
        detail = wait_until(
            lambda: (d := stack.api.incident(integration_id, incident_id))["state"] == "failed" and d,
            timeout=30, what="failed after GIVE_UP_HOURS",
        )
        assert "500" in detail["last_error"] and "gave up after retrying for 2 s" in detail["last_error"]
        assert detail["attempts"] >= 2
        assert any(h["status"] == 500 for h in detail["history"])  # what Jira answered, kept
        assert not stack.jira.issues
        # the site answered its probe: it was never paused for one failing request
        assert stack.api.get(f"/api/integrations/{integration_id}").json()["site"]["state"] == "ok"
    finally:
        stop()


def test_adopted_issue_gets_the_severity_that_changed_meanwhile(cloud_over_http: Stack) -> None:
    """The create's answer is lost, the severity changes before the retry: the adopted issue
    must end with the new priority, not the one it was created with."""
    cloud = cloud_over_http  # a lost answer: real sockets
    _, hook = cloud.integration()
    cloud.jira.faults.add(method="POST", path=r"/rest/api/\d/issue$", kind="lost_response", times=1, delay=1.0)
    new = cloud.flashduty.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    wait_until(lambda: cloud.jira.issues_with_label(f"flashduty-{incident_id}"), what="the create to land")
    cloud.send(hook, cloud.flashduty.set_severity(incident_id, "Info"))  # while the answer is lost
    cloud.synced(timeout=30)
    issue = cloud.issue_for(incident_id)
    assert issue.fields["priority"]["id"] == "4"  # Info -> Low
    assert cloud.jira.count_requests("POST", r"/rest/api/\d/issue$") == 1


def test_synced_and_failed_counters_match_the_incidents(stack_over_http: Stack) -> None:
    """The list pages' counters (kept as the worker links issues) equal what is true: an
    adopted issue counts once, later changes do not count again, a failure is counted."""
    stack = stack_over_http  # the adoption follows a lost answer: real sockets
    integration_id, hook = stack.integration()
    stack.jira.faults.add(method="POST", path=r"/rest/api/\d/issue$", kind="lost_response", times=1)
    ids = []
    for _ in range(4):
        new = stack.flashduty.open_incident()
        ids.append(new["incident"]["incident_id"])
        stack.send(hook, new)
    stack.synced(timeout=30)
    for incident_id in ids[:2]:
        stack.send(hook, stack.flashduty.set_severity(incident_id, "Info"))
        stack.send(hook, stack.flashduty.ack(incident_id))
    stack.synced(timeout=30)
    summary = stack.api.get(f"/api/integrations/{integration_id}").json()
    assert summary["incidents_synced"] == 4 == len(stack.jira.issues)
    assert stack.api.get("/api/queue").json()["linked"] == 4

    # one that cannot be created (REQ needs a Customer): failed, not synced
    other_id, other_hook = stack.integration(check=False, project="REQ", severity_map=None)
    new = stack.flashduty.open_incident()
    stack.send(other_hook, new)
    wait_until(lambda: stack.api.incident(other_id, new["incident"]["incident_id"])["state"] == "failed", what="failed")
    other = stack.api.get(f"/api/integrations/{other_id}").json()
    assert (other["incidents_synced"], other["failed"]) == (0, 1) and "Customer" in other["last_error"]
    assert stack.api.get("/api/queue").json()["linked"] == 4


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the worker's timing, not the store's
def test_every_backoff_is_retried_when_due_not_at_the_safety_poll(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from e2e.conftest import make_stack
    from jira_sync.sync import outages, worker

    monkeypatch.setattr(worker, "SAFETY_POLL", 60.0)  # a retry left to it shows as a timeout
    delays = [0.1, 0.5]  # the first failure is retried after 0.1 s, the second after 0.5 s
    monkeypatch.setattr(outages, "retry_delay", lambda *a, **kw: delays.pop(0) if delays else 1.0)
    stack, stop = make_stack(settings, "server")  # Server: a retried create searches once, no index lag
    try:
        integration_id, hook = stack.integration()
        stack.api.post(f"/api/integrations/{integration_id}/disable")  # stored, not claimed
        first, second = stack.flashduty.open_incident(), stack.flashduty.open_incident()
        stack.send(hook, first)
        stack.send(hook, second)
        stack.jira.faults.add(method="POST", path=r"/rest/api/\d/issue$", kind="500", times=2)
        stack.api.post(f"/api/integrations/{integration_id}/enable")  # both claimed at once, both fail once
        for payload in (first, second):
            incident_id = payload["incident"]["incident_id"]
            wait_until(lambda: stack.jira.issues_with_label(f"flashduty-{incident_id}"), timeout=3,
                       what=f"the retry of {incident_id}, due within 0.5 s")
    finally:
        stop()
