"""Workflows with several steps, required transition fields, and other status names."""
from __future__ import annotations

import json

from e2e.conftest import FLOW_STATUSES, Stack


def test_multi_step_workflow_with_resolution(stack: Stack) -> None:
    _, hook = stack.integration(
        project="FLOW", status_map=FLOW_STATUSES
    )
    fd = stack.flashduty
    new = fd.open_incident()
    incident_id = new["incident"]["incident_id"]
    stack.send(hook, new)
    stack.send(hook, fd.ack(incident_id))  # Open -> Triage -> In Progress
    stack.synced()
    assert stack.issue_for(incident_id).status_name == "In Progress"
    stack.send(hook, fd.resolve(incident_id))  # In Progress -> Resolved (needs a resolution) -> Closed
    stack.synced()
    issue = stack.issue_for(incident_id)
    assert issue.status_name == "Closed"
    assert issue.resolution and issue.resolution["name"] == "Done", "the resolution the transition requires was filled"
    stack.send(hook, fd.reopen(incident_id))  # back to Triggered -> Open
    stack.synced()
    assert stack.issue_for(incident_id).status_name == "Open"


def test_status_already_there_makes_no_transition(cloud: Stack) -> None:
    _, hook = cloud.integration()
    new = cloud.flashduty.open_incident()
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.synced()
    cloud.send(hook, cloud.flashduty.unack(incident_id))  # still Triggered
    cloud.synced()
    assert cloud.jira.count_requests("POST", r"/transitions$") == 0


def test_chinese_workflow_gets_chinese_default_statuses(cloud: Stack) -> None:
    _, hook = cloud.integration(project="CN", severity_map=None)  # no status_map: the defaults
    new = cloud.flashduty.open_incident(title="数据库连接数过高")
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.send(hook, cloud.flashduty.resolve(incident_id))
    cloud.synced()
    issue = cloud.issue_for(incident_id)
    assert issue.status_name == "完成" and issue.fields["summary"] == "数据库连接数过高"


def test_issue_type_without_priority_refuses_severity_mapping(stack: Stack) -> None:
    r = stack.api.post("/api/integrations", json=stack.config(project="NOPRI"))
    assert r.status_code == 422
    assert "priority" in json.dumps(r.json()).lower()
    ok = stack.api.post("/api/integrations", json=stack.config(project="NOPRI", severity_map=None))
    assert ok.status_code == 201, ok.text


def test_bad_credentials_are_refused_on_save(stack: Stack) -> None:
    cfg = stack.config()
    cfg["jira"]["secret"] = "not-the-token-Zq81x"
    r = stack.api.post("/api/integrations", json=cfg)
    assert r.status_code == 422
    body = json.dumps(r.json())
    assert "401" in body and "rejected" in body, body
    assert "not-the-token-Zq81x" not in body  # the secret is never echoed
    assert stack.api.get("/api/integrations").json() == []  # nothing saved


def test_status_mapping_is_all_three_or_none(cloud: Stack) -> None:
    partial = cloud.api.post("/api/integrations", json=cloud.config(status_map={"triggered": "Open"}))
    assert partial.status_code == 422 and "processing" in partial.text and "closed" in partial.text
    unknown = cloud.api.post(
        "/api/integrations", json=cloud.config(status_map={"triggered": "To Do", "processing": "Doing", "closed": "Done"})
    )
    assert unknown.status_code == 422 and "Doing" in unknown.text and "In Progress" in unknown.text  # lists what exists
