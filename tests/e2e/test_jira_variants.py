"""Jira sites of different kinds, through the whole service: what jira.md documents."""
from __future__ import annotations

import json

import pytest

from e2e.conftest import make_stack, wait_until


@pytest.fixture
def stack_factory(settings):  # type: ignore[no-untyped-def]
    stops = []

    def make(flavour: str, **jira_kw):  # type: ignore[no-untyped-def]
        stack, stop = make_stack(settings, flavour, **jira_kw)
        stops.append(stop)
        return stack

    yield make
    for stop in stops:
        stop()


def test_data_center_personal_access_token(stack_factory) -> None:  # type: ignore[no-untyped-def]
    dc = stack_factory("server", version="8.20.0")
    cfg = dc.config()
    cfg["jira"] = {"platform": "server", "url": dc.jira_url, "auth": "pat", "secret": "pat-token"}
    created = dc.api.create_integration(cfg)
    hook = created["webhook"]
    with dc.service.sender(hook["url"], {hook["header"]: hook["secret"]}) as sender:
        new = dc.flashduty.open_incident()
        assert sender.send(new) == 200
    dc.synced()
    assert dc.issue_for(new["incident"]["incident_id"]).reporter.name == "admin"


def test_pat_before_8_14_is_refused_on_save(stack_factory) -> None:  # type: ignore[no-untyped-def]
    old = stack_factory("server", version="8.13.0")
    cfg = old.config()
    cfg["jira"] = {"platform": "server", "url": old.jira_url, "auth": "pat", "secret": "pat-token"}
    r = old.api.post("/api/integrations", json=cfg)
    assert r.status_code == 422 and "401" in r.text


def test_server_7_uses_the_old_create_metadata(stack_factory) -> None:  # type: ignore[no-untyped-def]
    seven = stack_factory("server", version="7.13.0")
    _, hook = seven.integration()  # the check needs createmeta: only the old one exists on 7.x
    new = seven.flashduty.open_incident()
    seven.send(hook, new)
    seven.send(hook, seven.flashduty.resolve(new["incident"]["incident_id"]))
    seven.synced()
    assert seven.issue_for(new["incident"]["incident_id"]).status_name == "Done"
    assert seven.jira.count_requests("GET", r"/issue/createmeta$") >= 1  # the 7.x generation


def test_wrong_platform_type_is_named(stack_factory) -> None:  # type: ignore[no-untyped-def]
    server = stack_factory("server")
    cfg = server.config()
    cfg["jira"] = {"platform": "cloud", "url": server.jira_url, "username": "admin", "secret": "secret"}
    r = server.api.post("/api/integrations", json=cfg)
    assert r.status_code == 422 and "wrong platform type" in r.text


def test_missing_permissions_are_listed(stack_factory) -> None:  # type: ignore[no-untyped-def]
    cloud = stack_factory("cloud")
    cfg = cloud.config()
    cfg["jira"] = {"platform": "cloud", "url": cloud.jira_url, "username": "viewer@example.com", "secret": "viewer-token"}
    r = cloud.api.post("/api/integrations", json=cfg)
    assert r.status_code == 422
    body = json.dumps(r.json())
    for permission in ("CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "ADD_COMMENTS"):
        assert permission in body


def test_captcha_on_server_fails_the_incident_with_the_reason(stack_factory) -> None:  # type: ignore[no-untyped-def]
    server = stack_factory("server")
    integration_id, hook = server.integration()
    server.jira.faults.add(method=None, path=r"/rest/api/", kind="captcha", times=None)
    new = server.flashduty.open_incident()
    incident_id = new["incident"]["incident_id"]
    server.send(hook, new)
    detail = wait_until(
        lambda: (d := server.api.incident(integration_id, incident_id))["state"] == "failed" and d,
        what="a permanent failure",
    )
    assert "CAPTCHA" in detail["last_error"] and detail["attempts"] == 1  # not retried into a lockout


def test_lost_create_on_cloud_with_a_lagging_search_index(stack_factory) -> None:  # type: ignore[no-untyped-def]
    lagging = stack_factory("cloud", search_lag_s=1.5, over_http=True)  # a lost answer: real sockets
    _, hook = lagging.integration()
    lagging.jira.faults.add(method="POST", path=r"/rest/api/\d/issue$", kind="lost_response", times=1)
    new = lagging.flashduty.open_incident()
    lagging.send(hook, new)
    lagging.synced(timeout=40)
    lagging.issue_for(new["incident"]["incident_id"])  # exactly one, found once the index caught up
    assert lagging.jira.count_requests("POST", r"/rest/api/\d/issue$") == 1


def test_updates_follow_the_issue_after_a_project_key_rename(stack_factory) -> None:  # type: ignore[no-untyped-def]
    cloud = stack_factory("cloud")
    integration_id, hook = cloud.integration()
    new = cloud.flashduty.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.synced()
    cloud.jira.rename_project_key("OPS", "OPS2")
    cloud.send(hook, cloud.flashduty.set_severity(incident_id, "Info"))
    cloud.send(hook, cloud.flashduty.ack(incident_id))
    cloud.synced()
    issue = cloud.issue_for(incident_id)
    assert issue.key.startswith("OPS2-") and issue.fields["priority"]["id"] == "4"
    assert issue.status_name == "In Progress"



def test_a_jira_without_mypermissions_and_issue_by_id_is_worked_with(stack_factory) -> None:  # type: ignore[no-untyped-def]
    """A third-party "Jira DC 8.20" answers 404 for /mypermissions and for /issue/{id} (keys work):
    setup warns instead of refusing, and every update reaches the issue by its key."""
    odd = stack_factory("server", version="8.20.0")
    odd.jira.missing = {"mypermissions", "issue_by_id"}
    created = odd.api.create_integration(odd.config())
    assert created["check"]["ok"] and any("mypermissions" in w for w in created["check"]["warnings"])
    hook = created["webhook"]
    fd = odd.flashduty
    new = fd.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    with odd.service.sender(hook["url"], {hook["header"]: hook["secret"]}) as sender:
        steps = [lambda: new, lambda: fd.set_severity(incident_id, "Warning"), lambda: fd.ack(incident_id),
                 lambda: fd.add_comment(incident_id, "on it", author="Bob"), lambda: fd.resolve(incident_id)]
        for step in steps:
            assert sender.send(step()) == 200
            odd.synced()
        issue = odd.issue_for(incident_id)
        assert issue.fields["priority"]["id"] == "3" and issue.status_name == "Done" and len(issue.comments) == 1
        detail = odd.api.incident(created["id"], incident_id)
        assert detail["state"] == "idle" and detail["last_error"] is None
        # the site is addressed by key from the first 404 on: a change is one request again
        before = len(odd.jira.request_log)
        assert sender.send(fd.set_severity(incident_id, "Info")) == 200
        odd.synced()
        assert odd.jira.request_log[before:] == [("PUT", f"/rest/api/2/issue/{issue.key}", 204)]
