"""The seed's mapping tables, end to end through the real webhook endpoint."""
from __future__ import annotations

import json

from e2e.conftest import FLOW_STATUSES, Stack


def _text(value) -> str:  # type: ignore[no-untyped-def]
    """Jira field text whatever its format (wiki string, or ADF on Cloud v3)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def test_incident_lifecycle_follows_the_seed(stack: Stack) -> None:
    iid_, hook = stack.integration()
    new = stack.flashduty.open_incident(
        title="Disk full on db-01\nsecond line", description="Volume **/var** is at *99%*", incident_severity="Critical"
    )
    incident_id = new["incident"]["incident_id"]
    stack.send(hook, new)
    stack.synced()
    issue = stack.issue_for(incident_id)
    f = issue.fields
    # Field mapping: Summary <- Title (one line), Description <- Description + link, Priority <- Severity
    assert f["summary"] == "Disk full on db-01 second line"
    desc = _text(f["description"])
    assert "99%" in desc and new["incident"]["detail_url"] in desc
    assert f["priority"]["id"] == "1"  # Critical -> Highest
    login = issue.reporter.email if stack.flavour == "cloud" else issue.reporter.name
    assert login == stack.config()["jira"]["username"]  # Reporter = the integration's configured user
    assert issue.status_name == "To Do"  # Triggered -> To Do

    stack.send(hook, stack.flashduty.set_severity(incident_id, "Warning"))
    stack.synced()
    assert stack.issue_for(incident_id).fields["priority"]["id"] == "3"  # Warning -> Medium

    stack.send(hook, stack.flashduty.ack(incident_id))  # Processing -> In Progress
    stack.synced()
    assert stack.issue_for(incident_id).status_name == "In Progress"

    stack.send(hook, stack.flashduty.add_comment(incident_id, "Rebooting the replica", author="Bob"))
    stack.synced()
    comments = stack.issue_for(incident_id).comments
    assert len(comments) == 1
    assert "Rebooting the replica" in _text(comments[0].body) and "Bob" in _text(comments[0].body)

    # Title, description and label changes are not propagated
    stack.send(hook, stack.flashduty.change_title(incident_id, "Renamed"))
    stack.send(hook, stack.flashduty.change_description(incident_id, "changed"))
    stack.send(hook, stack.flashduty.set_labels(incident_id, {"host": "db-02"}))
    stack.send(hook, stack.flashduty.resolve(incident_id))  # Closed -> Done
    stack.synced()
    issue = stack.issue_for(incident_id)
    assert issue.status_name == "Done"
    assert issue.fields["summary"] == "Disk full on db-01 second line"
    assert "99%" in _text(issue.fields["description"])
    assert len(issue.comments) == 1  # the comment went once, whatever else happened

    detail = stack.api.incident(iid_, incident_id)
    assert detail["jira"]["key"] == issue.key
    assert detail["jira"]["browse_url"] == f"{stack.jira_url}/browse/{issue.key}"
    assert detail["state"] == "idle" and detail["history"], detail
    assert all("cloud-token" not in json.dumps(h) and "secret" != h.get("request_body") for h in detail["history"])


def test_custom_fields_map_to_text_fields(stack: Stack) -> None:
    _, hook = stack.integration(
        field_map=[
            {"source": "label", "name": "host", "target": "customfield_10050"},
            {"source": "labels", "target": "customfield_10051"},
        ]
    )
    new = stack.flashduty.open_incident(labels={"host": "web-07", "service": "checkout"})
    stack.send(hook, new)
    stack.synced()
    f = stack.issue_for(new["incident"]["incident_id"]).fields
    assert f["customfield_10050"] == "web-07"
    assert "service=checkout" in _text(f["customfield_10051"]) and "host=web-07" in _text(f["customfield_10051"])


def test_incident_id_and_link_map_to_text_fields(cloud: Stack) -> None:
    _, hook = cloud.integration(
        field_map=[
            {"source": "incident_id", "target": "customfield_10050"},
            {"source": "incident_link", "target": "customfield_10051"},
        ]
    )
    new = cloud.flashduty.open_incident()
    cloud.send(hook, new)
    cloud.synced()
    inc = new["incident"]
    f = cloud.issue_for(inc["incident_id"]).fields
    assert f["customfield_10050"] == inc["incident_id"]
    assert inc["detail_url"] in _text(f["customfield_10051"])


def test_duplicate_deliveries_make_one_issue(cloud: Stack) -> None:
    import concurrent.futures

    _, hook = cloud.integration()
    new = cloud.flashduty.open_incident()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(hook.send, [new] * 16))
    assert statuses == [200] * 16
    cloud.synced()
    cloud.issue_for(new["incident"]["incident_id"])  # exactly one
    assert cloud.jira.count_requests("POST", r"/rest/api/\d/issue$") == 1


def test_out_of_order_events_end_in_the_latest_state(cloud: Stack) -> None:
    _, hook = cloud.integration()
    fd = cloud.flashduty
    new = fd.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    sev = fd.set_severity(incident_id, "Info")
    closed = fd.resolve(incident_id)
    for payload in (closed, new, sev):  # the newest first
        cloud.send(hook, payload)
    cloud.synced()
    issue = cloud.issue_for(incident_id)
    assert issue.status_name == "Done"
    assert issue.fields["priority"]["id"] == "4"  # Info -> Low, from the newest snapshot


def test_steady_state_costs_one_jira_request_per_change(cloud: Stack) -> None:
    """Once the workflow has been seen, each change is exactly one Jira request."""
    _, hook = cloud.integration()
    fd = cloud.flashduty

    def lifecycle() -> list[int]:
        costs = []
        new = fd.open_incident(incident_severity="Critical")
        incident_id = new["incident"]["incident_id"]
        steps = [
            lambda: new,
            lambda: fd.set_severity(incident_id, "Warning"),
            lambda: fd.ack(incident_id),
            lambda: fd.add_comment(incident_id, "looking", author="Bob"),
            lambda: fd.resolve(incident_id),
        ]
        for step in steps:
            before = len(cloud.jira.request_log)
            cloud.send(hook, step())
            cloud.synced()
            costs.append(len(cloud.jira.request_log) - before)
        assert cloud.issue_for(incident_id).status_name == "Done"
        return costs

    first = lifecycle()  # learns the initial status and the transitions from each status
    second = lifecycle()
    assert second == [1, 1, 1, 1, 1], (first, second)


def test_issue_moved_by_hand_in_jira_is_still_moved(cloud: Stack) -> None:
    """Memory of the workflow is only a shortcut: a stale one falls back to asking Jira."""
    _, hook = cloud.integration(
        project="FLOW", status_map=FLOW_STATUSES
    )
    fd = cloud.flashduty
    new = fd.open_incident()
    incident_id = new["incident"]["incident_id"]
    cloud.send(hook, new)
    cloud.synced()
    cloud.jira.set_status(cloud.issue_for(incident_id).key, "Resolved")  # a person, in Jira
    cloud.send(hook, fd.ack(incident_id))
    cloud.synced()
    assert cloud.issue_for(incident_id).status_name == "In Progress"


def test_documented_example_verbatim(cloud: Stack) -> None:
    from jira_sync.devtools.fake_flashduty import DOCUMENTED_EXAMPLE

    _, hook = cloud.integration()
    assert hook.send(DOCUMENTED_EXAMPLE) == 200
    cloud.synced()
    issue = cloud.issue_for("64b1352e376e32c85c56e25b")
    assert issue.fields["summary"] == "ysy028" and issue.fields["priority"]["id"] == "1"
    assert "http://10.206.0.17:8567/incident/detail/64b1352e376e32c85c56e25b" in _text(issue.fields["description"])


def test_comments_land_once_each_even_when_an_answer_is_lost(stack_over_http: Stack) -> None:
    """Jira lists comments without their properties (Cloud's spec; the emulator's default): the
    comment whose POST answer was lost is recognised by the mark in its body's link."""
    stack = stack_over_http  # a lost answer is a dropped connection: only a server can drop one
    assert not stack.jira.comment_properties_in_list
    _, hook = stack.integration()
    fd = stack.flashduty
    new = fd.open_incident()
    incident_id = new["incident"]["incident_id"]
    stack.send(hook, new)
    first = fd.add_comment(incident_id, "first look: disk", author="Alice")
    stack.send(hook, first)
    stack.send(hook, first)  # redelivered
    stack.synced()
    stack.jira.faults.add(method="POST", path=r"/comment$", kind="lost_response", times=1)
    stack.send(hook, fd.add_comment(incident_id, "second: freed 20 GB", author="Bob"))
    stack.synced(timeout=30)
    texts = [_text(c.body) for c in stack.issue_for(incident_id).comments]
    assert len(texts) == 2, texts
    assert "first look: disk" in texts[0] and "Alice" in texts[0]
    assert "second: freed 20 GB" in texts[1] and "Bob" in texts[1]
    # the mark is a link to the incident, not noise in the text
    assert new["incident"]["detail_url"] + "#jira-sync-ref=flashduty-comment:" in texts[1]
    second = stack.issue_for(incident_id).comments[1]
    if isinstance(second.body, str):  # wiki markup: a link, [text|url]
        assert "[commented in Flashduty|" in second.body
    else:  # ADF: only in the link mark's href
        assert "jira-sync-ref" not in second.text
