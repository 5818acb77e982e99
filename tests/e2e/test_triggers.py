"""Automatic conditions, channel scope and the manual trigger decide which incidents sync."""
from __future__ import annotations

from e2e.conftest import Stack


def _ids(stack: Stack, payloads: list[dict]) -> list[str]:
    return [p["incident"]["incident_id"] for p in payloads]


def _synced_ids(stack: Stack, ids: list[str]) -> set[str]:
    return {i for i in ids if stack.jira.issues_with_label(f"flashduty-{i}")}


def test_conditions_regex_wildcard_notin_num(cloud: Stack) -> None:
    conditions = [
        [  # (labels.check matches /cpu|io/ AND labels.value > 90)
            {"key": "labels.check", "oper": "IN", "vals": ["/cpu|io/"]},
            {"key": "labels.value", "oper": "IN", "vals": ["num:gt:90"]},
        ],
        [  # OR (severity Critical AND host web-* AND service NOT billing)
            {"key": "severity", "oper": "IN", "vals": ["Critical"]},
            {"key": "labels.host", "oper": "IN", "vals": ["web-*"]},
            {"key": "labels.service", "oper": "NOTIN", "vals": ["billing"]},
        ],
    ]
    _, hook = cloud.integration(conditions=conditions)
    fd = cloud.flashduty
    yes = [
        fd.open_incident(incident_severity="Info", labels={"check": "cpu idle", "value": "95"}),
        fd.open_incident(incident_severity="Critical", labels={"host": "web-01", "service": "checkout"}),
    ]
    no = [
        fd.open_incident(incident_severity="Info", labels={"check": "cpu idle", "value": "80"}),  # num fails
        fd.open_incident(incident_severity="Info", labels={"check": "memory", "value": "99"}),  # regex fails
        fd.open_incident(incident_severity="Critical", labels={"host": "web-01", "service": "billing"}),  # NOTIN
        fd.open_incident(incident_severity="Critical", labels={"host": "db-01", "service": "x"}),  # wildcard
    ]
    for p in yes + no:
        cloud.send(hook, p)
    cloud.synced()
    assert _synced_ids(cloud, _ids(cloud, yes + no)) == set(_ids(cloud, yes))


def test_later_event_that_matches_creates_the_issue(cloud: Stack) -> None:
    _, hook = cloud.integration(conditions=[[{"key": "severity", "oper": "IN", "vals": ["Critical"]}]])
    new = cloud.flashduty.open_incident(incident_severity="Warning")
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.synced()
    assert not cloud.jira.issues_with_label(f"flashduty-{incident_id}")
    cloud.send(hook, cloud.flashduty.set_severity(incident_id, "Critical"))
    cloud.synced()
    assert cloud.issue_for(incident_id).fields["priority"]["id"] == "1"


def test_only_incidents_in_the_channels_sync(cloud: Stack) -> None:
    _, hook = cloud.integration(channels=[111])
    inside = cloud.flashduty.open_incident(channel_id=111, channel_name="Ops")
    outside = cloud.flashduty.open_incident(channel_id=222, channel_name="Other")
    cloud.send(hook, inside)
    cloud.send(hook, outside)
    cloud.send(hook, cloud.flashduty.custom_action(outside["incident"]["incident_id"]))  # not even manually
    cloud.synced()
    assert _synced_ids(cloud, _ids(cloud, [inside, outside])) == {inside["incident"]["incident_id"]}


def test_manual_trigger_by_custom_action_and_by_api(cloud: Stack) -> None:
    integration_id, hook = cloud.integration(trigger="manual")
    fd = cloud.flashduty
    a, b = fd.open_incident(), fd.open_incident()
    cloud.send(hook, a)
    cloud.send(hook, b)
    cloud.synced()
    assert not cloud.jira.issues  # manual: nothing yet
    a_id, b_id = _ids(cloud, [a, b])
    cloud.send(hook, fd.custom_action(a_id))  # the "more actions" button
    r = cloud.api.post(f"/api/integrations/{integration_id}/incidents/{b_id}/sync")
    assert r.status_code == 200, r.text
    cloud.synced()
    cloud.issue_for(a_id), cloud.issue_for(b_id)
    # after the trigger, updates flow automatically
    cloud.send(hook, fd.ack(a_id))
    cloud.synced()
    assert cloud.issue_for(a_id).status_name == "In Progress"
    unknown = cloud.api.post(f"/api/integrations/{integration_id}/incidents/nope/sync")
    assert unknown.status_code == 404
