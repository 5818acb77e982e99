"""An integration saved with check=false: its first sync resolves the names it was given."""
from __future__ import annotations

from e2e.conftest import Stack


def test_names_saved_unchecked_are_resolved_by_the_first_sync_and_kept(cloud: Stack) -> None:
    integration_id, hook = cloud.integration(
        check=False, issue_type="Task", severity_map={"Critical": "Highest", "Warning": "medium"},
        status_map={"triggered": "To Do", "processing": "in progress", "closed": "Done"},
    )
    assert cloud.api.get(f"/api/integrations/{integration_id}").json()["jira_meta"] == {}
    fd = cloud.flashduty
    new = fd.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.synced()
    issue = cloud.issue_for(incident_id)  # not a 400 "The issue type selected is invalid"
    assert issue.issue_type.id == "10001" and issue.fields["priority"]["id"] == "1"
    meta = cloud.api.get(f"/api/integrations/{integration_id}").json()["jira_meta"]
    assert meta["issue_type_id"] == "10001" and meta["severity_priority_ids"] == {"Critical": "1", "Warning": "3"}
    cloud.send(hook, fd.set_severity(incident_id, "Warning"))
    cloud.send(hook, fd.ack(incident_id))
    cloud.synced()
    issue = cloud.issue_for(incident_id)
    assert issue.fields["priority"]["id"] == "3" and issue.status_name == "In Progress"
    # what it learned is kept: a second incident does not check again
    checks = cloud.jira.count_requests("GET", r"/issue/createmeta/")
    other = fd.open_incident(incident_severity="Warning")
    cloud.send(hook, other)
    cloud.synced()
    assert cloud.issue_for(other["incident"]["incident_id"]).fields["priority"]["id"] == "3"
    assert cloud.jira.count_requests("GET", r"/issue/createmeta/") == checks


def test_a_name_jira_does_not_have_fails_the_first_sync_with_the_checks_words(cloud: Stack) -> None:
    integration_id, hook = cloud.integration(check=False, issue_type="Storry")
    new = cloud.flashduty.open_incident()
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    from e2e.conftest import wait_until

    detail = wait_until(lambda: (d := cloud.api.incident(integration_id, incident_id))["state"] == "failed" and d,
                        what="the incident to fail")
    assert "issue type 'Storry' is not available" in detail["last_error"] and "Task (10001)" in detail["last_error"]
    assert not cloud.jira.issues
