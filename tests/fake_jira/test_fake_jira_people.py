"""People other than the integration's account acting in Jira: `act_as`, `set_status`."""
from __future__ import annotations

import pytest

from jira_sync.devtools.fake_jira.model import JiraHTTPError


def test_alice_walks_a_multi_step_workflow(site):
    made = site.create_ok("FLOW")
    alice = site.fake.act_as("alice@example.com" if site.fake.cloud else "alice")
    for step in ("Start Triage", "In Progress", "Resolved"):  # a transition name or a status name
        alice.transition(made["key"], step)
    issue = site.fake.issue(made["key"])
    assert issue.status_name == "Resolved" and issue.resolution["name"] == "Fixed"  # required field filled
    with pytest.raises(JiraHTTPError) as err:
        alice.transition(made["key"], "To Do")
    assert err.value.status == 400 and "Close" in err.value.messages[0]
    history = site.http.get(f"/rest/api/{site.api}/issue/{made['key']}", params={"expand": "changelog"}).json()
    authors = {h["author"]["displayName"] for h in history["changelog"]["histories"]}
    assert authors == {"Alice Oncall"}


def test_people_are_checked_like_the_api(site):
    made = site.create_ok()
    viewer = site.fake.act_as("viewer")
    with pytest.raises(JiraHTTPError) as err:
        viewer.set_priority(made["key"], "High")
    assert err.value.status == 403
    with pytest.raises(JiraHTTPError):
        site.fake.act_as("alice").set_priority(made["key"], "Urgent")
    with pytest.raises(ValueError):
        site.fake.act_as("nobody")
    by_alice = site.fake.act_as("alice").create(summary="Seen in the dashboard", labels=["manual"])
    assert by_alice.reporter.name == "alice" and by_alice.labels == ["manual"]


def test_set_status_is_a_person_too(cloud):
    made = cloud.create_ok()
    cloud.fake.set_status(made["key"], "Done")
    [group] = cloud.fake.issue(made["key"]).changelog
    assert group.author.name == "alice" and group.items[0].to_string == "Done"
    cloud.fake.set_status(made["key"], "To Do", by="admin")
    assert cloud.fake.issue(made["key"]).changelog[-1].author.name == "admin"
