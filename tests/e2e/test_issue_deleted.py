"""A linked issue deleted in Jira: said plainly, and a person can ask for a new one."""
from __future__ import annotations

from e2e.conftest import Stack, wait_until


def test_a_deleted_issue_is_named_and_a_new_one_is_made_on_request(cloud: Stack) -> None:
    integration_id, hook = cloud.integration()
    fd = cloud.flashduty
    new = fd.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.send(hook, fd.add_comment(incident_id, "first look", author="Alice"))
    cloud.synced()
    old = cloud.issue_for(incident_id)
    cloud.jira.search_lag_s = 600  # the index still lists the deleted issue for a while
    cloud.jira.delete_issue(old.key)
    # asking for a new issue before the sync has found it deleted is refused: it may still exist
    url = f"/api/integrations/{integration_id}/incidents/{incident_id}/new-issue"
    assert cloud.api.post(url).status_code == 409

    cloud.send(hook, fd.set_severity(incident_id, "Warning"))
    detail = wait_until(lambda: (d := cloud.api.incident(integration_id, incident_id))["state"] == "failed" and d,
                        what="the incident to fail")
    assert detail["last_error"].startswith(f"{old.key} was deleted in Jira")
    assert detail["jira"]["create_state"] == "deleted"
    cloud.send(hook, fd.add_comment(incident_id, "second look", author="Bob"))  # kept for the new issue

    r = cloud.api.post(url)
    assert r.status_code == 200, r.text
    cloud.synced()
    issue = cloud.issue_for(incident_id)  # exactly one live issue for the incident
    assert issue.key != old.key and issue.fields["priority"]["id"] == "3"
    assert [c.text.count("look") for c in issue.comments] == [1, 1]  # both comments, once each
    detail = cloud.api.incident(integration_id, incident_id)
    assert detail["jira"]["key"] == issue.key and detail["state"] == "idle"
    assert cloud.api.get(f"/api/integrations/{integration_id}").json()["incidents_synced"] == 1
    assert cloud.api.post(url).status_code == 409  # the new issue is alive: no second one
    cloud.send(hook, fd.ack(incident_id))
    cloud.synced()
    assert cloud.issue_for(incident_id).status_name == "In Progress"
    assert cloud.jira.count_requests("POST", r"/rest/api/\d/issue$") == 2
