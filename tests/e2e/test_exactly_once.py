"""Exactly one issue per incident, whatever Jira's search index does (sync/adopt.py).

The emulator's search lags `search_lag_s` behind every write, as Cloud's eventually consistent
index may (by any amount: Atlassian documents no bound). Reads by id or key never lag.
"""
from __future__ import annotations

import re

import pytest

from e2e.conftest import Stack, make_stack, wait_until
from jira_sync.settings import Settings

CREATE = r"/rest/api/\d/issue$"
LAG = 600.0  # ten minutes: far past any polling a sync could afford


def test_a_lost_create_answer_makes_one_issue_while_search_lags_minutes(stack: Stack) -> None:
    _, hook = stack.integration()
    stack.jira.search_lag_s = LAG
    alice = stack.jira.act_as("alice")
    for n in range(3):  # people's issues before ours: the look reads past them
        alice.create(summary=f"made by a person {n}")
    # Jira creates the issue; its answer is dropped a moment later
    stack.jira.faults.add(method="POST", path=CREATE, kind="lost_response", times=1, delay=0.5)
    new = stack.flashduty.open_incident(incident_severity="Critical")
    incident_id = new["incident"]["incident_id"]
    stack.send(hook, new)
    wait_until(lambda: stack.jira.issues_with_label(f"flashduty-{incident_id}"), what="the create to land")
    alice.create(summary="made by a person after ours")  # the end of the project moves on
    stack.synced(timeout=30)
    issue = stack.issue_for(incident_id)  # exactly one
    assert stack.jira.count_requests("POST", CREATE) == 1
    assert issue.fields["priority"]["id"] == "1"
    # the next change goes to the adopted issue
    stack.send(hook, stack.flashduty.ack(incident_id))
    stack.synced()
    assert stack.issue_for(incident_id).status_name == "In Progress"


def test_a_create_jira_never_got_is_made_once_after_it_settles(stack: Stack, settings: Settings) -> None:
    """No answer, and nothing made: the look finds no issue, waits until the create can no
    longer be running in Jira (twice JIRA_TIMEOUT), then creates. One issue."""
    integration_id, hook = stack.integration()
    stack.jira.search_lag_s = LAG
    # the request is held past the client's timeout (2 s here) and never applied
    stack.jira.faults.add(method="POST", path=CREATE, kind="timeout", times=1, delay=2.5)
    new = stack.flashduty.open_incident()
    incident_id = new["incident"]["incident_id"]
    stack.send(hook, new)
    # the wait is visible while it lasts (from the lost answer to the second create, ~2 s). Its
    # wording depends on timing: "may still be running" if the look comes before the create
    # has settled, the lost answer's own error if the retry comes after; so only its presence
    # is asserted here, and the wait itself from the history below
    waiting = wait_until(lambda: (d := stack.api.incident(integration_id, incident_id))["jira"]["create_state"]
                         == "creating" and d["last_error"] and d, timeout=20, what="the incident to wait, saying why")
    assert waiting["state"] in ("pending", "in_flight")  # waiting, never failed
    stack.synced(timeout=30)
    stack.issue_for(incident_id)
    assert stack.jira.count_requests("POST", CREATE) == 2
    detail = stack.api.incident(integration_id, incident_id)
    assert detail["attempts"] == 0  # the wait spent no attempt
    creates = [e for e in detail["history"] if e["method"] == "POST" and re.search(CREATE, e["path"])]
    lost, made = sorted(creates, key=lambda e: e["at"])
    assert lost["status"] != 201 and made["status"] == 201  # no answer (or a gateway's 504), then made
    # the second is sent once the first can no longer be running: 2 x JIRA_TIMEOUT after the
    # first was sent, less the commit made between noting that time and sending. An entry's
    # `at` is when its answer (or none) was recorded, so each send is `at` less its duration;
    # comparing the answers instead fails when the lost one is given up on late under load
    def sent(entry: dict) -> float:
        return entry["at"] - entry["duration_ms"] / 1000

    assert sent(made) - sent(lost) >= 0.85 * 2 * settings.jira_timeout


@pytest.fixture
def short_lag_cloud(settings: Settings):  # type: ignore[no-untyped-def]
    settings.max_index_lag = 6.0
    s, stop = make_stack(settings, "cloud")
    yield s
    stop()


def test_without_reads_by_key_the_incident_waits_out_max_index_lag_while_others_flow(short_lag_cloud: Stack) -> None:
    cloud = short_lag_cloud
    integration_id, hook = cloud.integration()
    cloud.jira.search_lag_s = LAG
    cloud.jira.add_missing(r"^/rest/api/\d/issue/[A-Z][A-Z0-9_]*-\d+$", method="GET")  # no GET /issue/{key}
    cloud.jira.faults.add(method="POST", path=CREATE, kind="reset", times=1)  # dropped before Jira made it
    first = cloud.flashduty.open_incident()
    first_id = first["incident"]["incident_id"]
    cloud.send(hook, first)
    wait_until(lambda: "MAX_INDEX_LAG" in (cloud.api.incident(integration_id, first_id)["last_error"] or ""),
               what="the uncertain incident to say what it waits for")
    second = cloud.flashduty.open_incident()
    cloud.send(hook, second)
    wait_until(lambda: cloud.jira.issues_with_label(f"flashduty-{second['incident']['incident_id']}"),
               what="another incident to sync meanwhile")
    assert not cloud.jira.issues_with_label(f"flashduty-{first_id}")  # still waiting, not guessing
    assert cloud.api.incident(integration_id, first_id)["jira"]["create_state"] == "creating"
    cloud.synced(timeout=30)
    cloud.issue_for(first_id)
    assert cloud.jira.count_requests("POST", CREATE) == 3  # reset, then once each
