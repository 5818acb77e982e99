"""A Cloud service account end to end: saved through the API, issues written through the gateway."""
from __future__ import annotations

from e2e.conftest import Stack

SVC = {"platform": "cloud", "username": "svc-jira-sync@serviceaccount.atlassian.com", "secret": "svc-token"}


def test_a_service_account_syncs_through_the_gateway_and_links_stay_on_the_site(cloud: Stack) -> None:
    cloud.service.settings.jira_gateway_url = cloud.jira_url  # JIRA_GATEWAY_URL: the emulator serves /ex/jira
    created = cloud.api.post("/api/integrations", json=cloud.config(jira={"url": cloud.jira_url, **SVC}))
    assert created.status_code == 201, created.text
    assert any("gateway" in n for n in created.json()["check"]["notes"]), created.json()["check"]
    check = cloud.api.post("/api/jira/check", json={"connection": {"url": cloud.jira_url, **SVC}})
    assert check.status_code == 200 and check.json()["api_route"] == "gateway", check.text

    hook = created.json()["webhook"]
    sender = cloud.service.sender(hook["url"], {hook["header"]: hook["secret"]})
    cloud.senders.append(sender)
    new = cloud.flashduty.open_incident(title="Via the gateway")
    cloud.send(sender, new)
    cloud.send(sender, cloud.flashduty.ack(new["incident"]["incident_id"]))
    cloud.synced()
    issue = cloud.issue_for(new["incident"]["incident_id"])
    assert issue.reporter.email == SVC["username"] and issue.status_name == "In Progress"
    detail = cloud.api.incident(created.json()["id"], new["incident"]["incident_id"])
    assert detail["jira"]["browse_url"] == f"{cloud.jira_url}/browse/{issue.key}"
    rest = [x["path"] for x in detail["history"] if x["path"] != "/_edge/tenant_info"]  # the cloud id, once
    assert rest and all(p.startswith("/ex/jira/") for p in rest), rest
